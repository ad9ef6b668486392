""""My results" for the pupil: off unless turned on, strengths first in the pupil's words,
never a band name or a score; the pupil's hopes saved for the tutor."""

from __future__ import annotations

import html
import re
import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models.base import utcnow
from survey_app.models.reviews import PupilHope
from survey_app.questionnaires.translations import load_translation
from tests.conftest import World, csrf_from, sign_in_pupil
from tests.reviews.support import finish_with_levels, share_results
from tests.translation_fixtures import ROOT, questionnaire_dir

HIGH = {"perceived_learning_capability": 4, "attitudes_to_teachers": 4}
LOW = {"preparedness_for_learning": 1, "attitudes_to_attendance": 1}


def visible_text(html: str) -> str:
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main.split(">", 1)[1])


def _sign_in_finished(client, code):
    page = client.get("/")
    return client.post("/", data={"code": code, "csrf_token": csrf_from(page.text)})


def test_results_stay_hidden_unless_the_round_shares_them(client, world):
    finish_with_levels(world, world.round, world.pupils[0], {**HIGH, **LOW})
    resp = _sign_in_finished(client, world.code_of(0))
    assert resp.status_code == 400 and "My results" not in resp.text
    assert client.get("/results").location.endswith("/")
    # Finishing goes to the thank-you page.
    survey = sign_in_pupil(client, world.code_of(1))
    resp = client.post("/survey/finish", data={"csrf_token": csrf_from(survey.text)})
    assert resp.location.endswith("/thanks")


def test_results_lead_with_strengths_and_show_no_band_or_score(client, world):
    share_results(world.round)
    finish_with_levels(world, world.round, world.pupils[0], {**HIGH, **LOW})
    resp = _sign_in_finished(client, world.code_of(0))
    assert resp.status_code == 302 and resp.location.endswith("/results")
    page = client.get("/results")
    assert page.status_code == 200
    text = visible_text(page.text)
    factors = {f.key: f for f in world.q.factors}
    strengths = [factors[k].strength for k in HIGH]
    assert all(s in text for s in strengths)
    first_question = factors["preparedness_for_learning"].invitations[0]
    assert first_question in text and factors["attitudes_to_attendance"].invitations[0] in text
    assert text.index(strengths[0]) < text.index(first_question)  # strengths first
    for band in world.q.bands:
        assert not re.search(rf"\b{band.label}\b", text, re.I), band.label
    assert not re.search(r"\d", text)  # no score, no count, no rank
    assert "data-speak" in page.text and "speak.js" in page.text
    # A pupil with no clear strength is told nothing untrue.
    finish_with_levels(world, world.round, world.pupils[2], {}, default=1)
    _sign_in_finished(client, world.code_of(2))
    text = visible_text(client.get("/results").text)
    assert "What you feel good about" not in text and "Questions to think about" in text
    assert not any(f.strength in text for f in world.q.factors)
    # Once the round closes, the results end.
    world.round.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/results").location.endswith("/")
    assert _sign_in_finished(client, world.code_of(0)).status_code == 400


def test_results_speak_the_pupils_language_with_its_lang_and_dir(app, client, world, tmp_path):
    directory = questionnaire_dir(tmp_path, world.q, {"de": "draft"})
    for code in ("cy", "ur"):  # the shipped Welsh and Urdu
        shutil.copy(ROOT / "questionnaires" / "translations" / f"{world.q.key}.{code}.toml",
                    directory / "translations")
    app.config["QUESTIONNAIRE_DIR"] = str(directory)
    world.round.languages, world.round.allow_draft_languages = ["cy", "ur", "de"], True
    db.session.commit()
    welsh = load_translation(directory / "translations" / f"{world.q.key}.cy.toml", world.q)
    share_results(world.round)
    finish_with_levels(world, world.round, world.pupils[0], {**HIGH, **LOW})
    client.get("/?lang=cy")
    assert _sign_in_finished(client, world.code_of(0)).location.endswith("/results")
    page = html.unescape(client.get("/results").text)
    assert '<html lang="cy" dir="ltr">' in page
    strength = welsh.factors["perceived_learning_capability"].strength
    question = welsh.factors["preparedness_for_learning"].invitations[0]
    english = {f.key: f for f in world.q.factors}["perceived_learning_capability"].strength
    assert f"<span>{strength}</span>" in page  # in the page's own language: no lang of its own
    assert f'data-speak="{strength}" data-speak-lang="cy"' in page
    assert f"<span>{question}</span>" in page and english not in page
    # Right to left, the page's own words in Urdu too.
    page = html.unescape(client.get("/results?lang=ur").text)
    assert '<html lang="ur" dir="rtl">' in page and "<h2 id=\"think\">سوچنے کے لیے سوالات</h2>" in page
    urdu = load_translation(directory / "translations" / f"{world.q.key}.ur.toml", world.q)
    assert f"<span>{urdu.factors['perceived_learning_capability'].strength}</span>" in page
    # A language without page words: English page, the pupil's texts marked with their own lang.
    page = html.unescape(client.get("/results?lang=de").text)
    assert '<html lang="en-GB" dir="ltr">' in page
    assert f'<span lang="de" dir="ltr">de: {english}</span>' in page
    # Back in English.
    page = html.unescape(client.get("/results?lang=en").text)
    assert f"<span>{english}</span>" in page and strength not in page


def test_results_after_finishing_and_hopes_saved_for_the_tutor(client, world):
    share_results(world.round)
    response = finish_with_levels(world, world.round, world.pupils[1], HIGH, finished=False)
    survey = sign_in_pupil(client, world.code_of(1))
    resp = client.post("/survey/finish", data={"csrf_token": csrf_from(survey.text)})
    assert resp.location.endswith("/results")
    page = client.get("/results")
    token = csrf_from(page.text)
    refused = client.post("/results", data={"hopes": " ", "better_at": "", "csrf_token": token})
    assert refused.status_code == 400 and "Write something in at least one of the boxes" in refused.text
    assert client.post("/results", data={"hopes": "x" * 1001, "csrf_token": token}).status_code == 400
    assert client.post("/results", data={"hopes": "To be a vet"}).status_code == 400  # no CSRF
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PupilHope)) == 0
    ok = client.post("/results", data={"hopes": "To be a vet", "better_at": "Spelling", "csrf_token": token})
    assert ok.status_code == 302
    hope = db.session.scalar(sa.select(PupilHope))
    assert (hope.pupil_id, hope.round_id, hope.hopes, hope.better_at) == (
        world.pupils[1].id, world.round.id, "To be a vet", "Spelling")
    assert "To be a vet" in client.get("/results").text
    # Signing out forgets the results in this browser.
    page = client.get("/results")
    client.post("/signout", data={"reason": "later", "csrf_token": csrf_from(page.text)})
    assert client.get("/results").location.endswith("/")
    assert response.id


# The page's own words on "My results", in English (the questionnaire's texts are checked above).
ENGLISH_PAGE_WORDS = [
    "My results", "I have finished", "Thank you! Here is what you told us", "What you feel good about",
    "Thank you for telling us how you feel", "Read aloud: thank you", "Questions to think about",
    "There are no right or wrong answers", "Your hopes", "Your tutor will read what you write here",
    "What I hope for", "One thing I want to get better at", "Save for my tutor",
    "Please keep this to 1000 letters or fewer.", "Write something in at least one of the boxes",
    "Saved. Your tutor will read what you wrote.", "Read aloud",
]


def _english_left(page: str) -> list[str]:
    # Every word the page carries, attributes included (the read-aloud labels and texts).
    return [words for words in ENGLISH_PAGE_WORDS if words in html.unescape(page)]


@pytest.mark.parametrize("instrument", ["pass9-secondary", "pass9-primary"])
def test_results_page_words_are_in_the_pupils_language(app, client, instrument):
    world = World(app, questionnaire=instrument)
    world.round.languages, world.round.allow_draft_languages = ["cy", "ur"], True
    db.session.commit()
    share_results(world.round)
    finish_with_levels(world, world.round, world.pupils[0], {**HIGH, **LOW})
    client.get("/?lang=cy")
    assert _sign_in_finished(client, world.code_of(0)).location.endswith("/results")
    page = client.get("/results")
    text = html.unescape(page.text)
    assert '<html lang="cy" dir="ltr">' in text and _english_left(page.text) == []
    assert "<title>Fy nghanlyniadau · " in text and ">Rydw i wedi gorffen</button>" in text
    for heading in ("Diolch! Dyma beth ddwedaist ti wrthon ni", "Beth rwyt ti'n teimlo'n dda amdano",
                    "Cwestiynau i feddwl amdanyn nhw", "Dy obeithion"):
        assert f">{heading}</h" in text, heading
    assert ">Cadw ar gyfer fy nhiwtor</button>" in text and ">Un peth rydw i eisiau gwella ynddo</label>" in text
    # A refused save says why in Welsh, and so does a saved one.
    token = csrf_from(page.text)
    refused = client.post("/results", data={"hopes": " ", "better_at": "", "csrf_token": token})
    assert refused.status_code == 400 and _english_left(refused.text) == []
    assert "Ysgrifenna rywbeth mewn o leiaf un o'r blychau, yna pwysa Cadw." in html.unescape(refused.text)
    too_long = client.post("/results", data={"hopes": "x" * 1001, "csrf_token": token})
    assert too_long.status_code == 400 and "Cadwa hyn i 1000 o lythrennau neu lai" in html.unescape(too_long.text)
    client.post("/results", data={"hopes": "Bod yn filfeddyg", "better_at": "", "csrf_token": token})
    page = client.get("/results")
    assert "Wedi cadw. Bydd dy diwtor yn darllen beth ysgrifennaist ti." in html.unescape(page.text)
    assert _english_left(page.text) == []
    # A pupil with no clear strength is thanked in Welsh, and the button reads it in Welsh.
    finish_with_levels(world, world.round, world.pupils[2], {}, default=1)
    _sign_in_finished(client, world.code_of(2))
    page = client.get("/results")
    words = ("Diolch am ddweud wrthon ni sut rwyt ti'n teimlo. Mae gan bawb bethau sy'n mynd yn dda a phethau "
             "sy'n anoddach. Hoffai dy diwtor siarad gyda ti am beth fyddai'n helpu.")
    text = html.unescape(page.text)
    assert f'<p class="lead">{words} <button' in text and _english_left(page.text) == []
    assert f'data-speak="{words}" data-speak-lang="cy"' in text and 'aria-label="Darllen yn uchel: diolch"' in text
    # In English the same page keeps its English words, read in English.
    page = html.unescape(client.get("/results?lang=en").text)
    assert "Thank you for telling us how you feel." in page and 'data-speak-lang="en-GB"' in page
