"""The pupil's language: the picker and `?lang=`, kept through sign-in and the survey,
answers kept on a switch, drafts refused where the round does not allow them, and the
`lang`/`dir` markup (right to left for Urdu and Arabic)."""

from __future__ import annotations

import html
import json
import re

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import Answer, Response
from tests.conftest import World, csrf_from, sign_in_pupil
from tests.pupil.test_signing_and_offline import _media
from tests.translation_fixtures import questionnaire_dir


@pytest.fixture
def world(app, tmp_path):
    """A round of pass9-secondary offering Welsh (reviewed), Urdu, Polish and German (drafts;
    German has translated statements but no catalog of the page's words)."""
    world = World(app)
    app.config["QUESTIONNAIRE_DIR"] = str(questionnaire_dir(
        tmp_path, world.q, {"cy": "reviewed", "ur": "draft", "pl": "draft", "de": "draft"}))
    world.round.languages = ["cy", "ur", "pl", "de"]
    world.round.allow_draft_languages = True
    db.session.commit()
    return world


def html_tag(text: str) -> str:
    return re.search(r"<html[^>]*>", text).group(0)


def response_language() -> str:
    return db.session.scalar(sa.select(Response.language))


@pytest.mark.parametrize(("code", "direction", "welcome", "not_found"), [
    ("ur", "rtl", "خوش آمدید", "صفحہ نہیں ملا"), ("cy", "ltr", "Croeso", "Heb ddod o hyd i'r dudalen"),
    ("pl", "ltr", "Witaj", "Nie znaleziono strony")])
def test_lang_in_the_address_follows_the_pupil_from_sign_in_to_thanks(client, world, code,
                                                                      direction, welcome, not_found):
    start = client.get(f"/?lang={code}")
    assert html_tag(start.text) == f'<html lang="{code}" dir="{direction}">'
    assert welcome in start.text
    survey = sign_in_pupil(client, world.code_of(0))
    assert html_tag(survey.text) == f'<html lang="{code}" dir="{direction}">'
    first = world.q.statements[0]
    assert f"{code}: {first.text}" in survey.text
    assert f'<span class="statement-text">{code}: {first.text}</span>' in survey.text  # page's own
    assert response_language() == code
    missing = client.get("/survey/p/99")  # an error page speaks the pupil's language too
    assert missing.status_code == 404 and not_found in html.unescape(missing.text)
    assert html_tag(missing.text) == f'<html lang="{code}" dir="{direction}">'
    check = client.get("/survey/check")
    assert html_tag(check.text) == f'<html lang="{code}" dir="{direction}">'
    client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)})
    thanks = client.get("/thanks")
    assert html_tag(thanks.text) == f'<html lang="{code}" dir="{direction}">'
    assert f"{code}: " in thanks.text


def test_switching_keeps_every_answer_and_records_the_language(client, world):
    survey = sign_in_pupil(client, world.code_of(0))
    token = csrf_from(survey.text)
    url = "/survey/p/1"
    client.post(url, data={"q1": "4", "nav": "next", "csrf_token": token})
    # The language buttons belong to the survey form: an answer chosen but not sent is saved.
    switched = client.post(url, data={"q2": "2", "lang": "ur", "csrf_token": token})
    assert switched.status_code == 302 and switched.location.endswith("/survey/p/1?lang=ur")
    page = client.get(switched.location)
    assert 'dir="rtl"' in html_tag(page.text)
    assert re.search(r'name="q1" id="q1-4" value="4"\s+checked', page.text)
    assert re.search(r'name="q2" id="q2-2" value="2"\s+checked', page.text)
    assert response_language() == "ur"
    back = client.get("/survey/p/1?lang=en")
    assert html_tag(back.text) == '<html lang="en-GB" dir="ltr">'
    assert world.q.statements[0].text in back.text and "ur: " not in back.text
    assert dict(db.session.execute(sa.select(Answer.item, Answer.value)).all()) == {
        world.q.statements[0].id: 4, world.q.statements[1].id: 2}
    assert response_language() == "en"


def test_a_draft_is_refused_where_the_round_does_not_allow_drafts(client, world):
    world.round.allow_draft_languages = False
    db.session.commit()
    survey = sign_in_pupil(client, world.code_of(0))
    assert 'lang="ur"' not in survey.text  # only the reviewed Welsh is offered
    assert 'lang="cy"' in survey.text
    refused = client.get("/survey/p/1?lang=ur")
    assert "not available in that language yet" in refused.text
    assert html_tag(refused.text) == '<html lang="en-GB" dir="ltr">'
    assert "ur: " not in refused.text
    assert response_language() == "en"
    assert 'cy: ' in client.get("/survey/p/1?lang=cy").text  # the reviewed one is fine
    assert response_language() == "cy"


def test_a_draft_chosen_before_sign_in_gives_english_when_the_round_refuses_it(client, world):
    world.round.allow_draft_languages = False
    db.session.commit()
    assert html_tag(client.get("/?lang=ur").text) == '<html lang="ur" dir="rtl">'
    survey = sign_in_pupil(client, world.code_of(0))
    assert html_tag(survey.text) == '<html lang="en-GB" dir="ltr">'
    assert "ur: " not in survey.text and response_language() == "en"


def test_statements_without_a_page_catalog_carry_their_own_lang(client, world):
    client.get("/?lang=de")
    survey = sign_in_pupil(client, world.code_of(0))
    # German statements, English buttons: the page is English, each text says it is German.
    assert html_tag(survey.text) == '<html lang="en-GB" dir="ltr">'
    first = world.q.statements[0]
    assert f'<span class="statement-text" lang="de" dir="ltr">de: {first.text}</span>' in survey.text
    assert 'data-speak-lang="de"' in survey.text and "Next" in survey.text


def test_an_unknown_language_is_refused_and_changes_nothing(client, world):
    page = client.get("/?lang=zz")
    assert page.status_code == 200 and "not available in that language yet" in page.text
    assert html_tag(page.text) == '<html lang="en-GB" dir="ltr">'


def _survey_strings(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="survey-strings">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_signing_and_the_scripts_words_are_welsh_on_a_welsh_page(app, client, world, tmp_path):
    # Words once written into the templates and scripts in English (issue 19): the signing
    # choice and the "Watch in BSL" block, the autosave's refusals that survey.js shows, and
    # the service worker's page for a form sent offline (read from the kept survey page).
    _media(app, world, tmp_path)
    start = client.get("/?lang=cy")
    assert "Dangos arwyddo bob tro" in start.text and "Always show signing" not in start.text
    survey = sign_in_pupil(client, world.code_of(0)).text
    assert "Gwylio yn BSL" in survey and "Watch in" not in survey and "Watch again" not in survey
    assert "Iaith Arwyddion Prydain (BSL): datganiad 1" in survey
    strings = _survey_strings(survey)
    assert strings["No connection just now"] == "Does dim cysylltiad ar hyn o bryd"
    sw = client.get("/survey-sw.js")
    offline_words = re.findall(r'\bt\("([^"]+)"\)', sw.text)
    sw.close()
    assert len(offline_words) == 5
    assert all(strings.get(english, english) != english for english in offline_words), offline_words
    # The autosave answers in English; survey.js shows each refusal in the page's language.
    refused = client.post("/survey/api/answers", json={"response": -1, "answers": []},
                          headers={"X-CSRFToken": csrf_from(survey)})
    assert refused.status_code == 403
    assert strings[refused.get_json()["message"]].startswith("Mae'r atebion hyn yn perthyn")


def test_a_page_refused_before_the_pupil_pages_own_checks_keeps_the_language(client, world):
    client.get("/?lang=cy")
    expired = client.post("/", data={"code": world.code_of(0)})  # no CSRF token: refused first
    assert expired.status_code == 400
    assert html_tag(expired.text) == '<html lang="cy" dir="ltr">'
    assert "Roedd y dudalen hon wedi dod i ben" in html.unescape(expired.text)
    assert "Pupil attitude survey" not in expired.text


def test_an_address_no_page_has_is_not_found_in_the_pupils_language(client, world):
    client.get("/?lang=ur")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert html_tag(missing.text) == '<html lang="ur" dir="rtl">'
    assert "Page not found" not in missing.text
    staff_missing = client.get("/staff/no-such-page")  # staff pages stay English
    assert staff_missing.status_code == 404 and "Page not found" in staff_missing.text
    assert html_tag(staff_missing.text) == '<html lang="en-GB" dir="ltr">'
