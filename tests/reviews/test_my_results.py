""""My results" for the pupil: off unless turned on, strengths first in the pupil's words,
never a band name or a score; the pupil's hopes saved for the tutor."""

from __future__ import annotations

import html
import re
import shutil
from datetime import timedelta

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models.base import utcnow
from survey_app.models.reviews import PupilHope
from survey_app.questionnaires.translations import load_translation
from tests.conftest import csrf_from, sign_in_pupil
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
    # Right to left (the page's own words on "My results" are not in the catalogs yet).
    page = html.unescape(client.get("/results?lang=ur").text)
    assert '<html lang="ur" dir="rtl">' in page
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
