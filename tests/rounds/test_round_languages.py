"""A round's languages page: leads choose the languages offered and whether drafts may be
used; a draft without that permission is refused and changes nothing."""

from __future__ import annotations

import pytest

from survey_app.db import db
from survey_app.models import ChangeLog
from tests.conftest import csrf_from, login_as
from tests.translation_fixtures import questionnaire_dir


@pytest.fixture
def world(app, staff_world, tmp_path):
    app.config["QUESTIONNAIRE_DIR"] = str(
        questionnaire_dir(tmp_path, staff_world.q, {"cy": "reviewed", "ur": "draft"}))
    return staff_world


def test_a_lead_chooses_languages_and_drafts_need_permission(client, world):
    login_as(client, world.lead)
    url = f"/staff/rounds/{world.round.id}/languages"
    page = client.get(url)
    assert page.status_code == 200
    assert "Welsh: <span lang=\"cy\" dir=\"ltr\">Cymraeg</span>" in page.text
    assert "(ur, draft)" in page.text and "(cy, reviewed)" in page.text
    refused = client.post(url, data={"languages": ["cy", "ur"], "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 400
    assert "The اردو translation is a draft nobody has reviewed yet" in refused.text
    db.session.refresh(world.round)
    assert world.round.languages == [] and not world.round.allow_draft_languages
    saved = client.post(url, data={"languages": ["ur", "cy"], "allow_drafts": "y",
                                   "csrf_token": csrf_from(page.text)})
    assert saved.status_code == 302
    db.session.refresh(world.round)
    assert world.round.languages == ["ur", "cy"] and world.round.allow_draft_languages  # by English name
    entry = db.session.query(ChangeLog).filter_by(entity="round", action="languages").one()
    assert entry.changes["languages"] == [[], ["ur", "cy"]]
    shown = client.get(f"/staff/rounds/{world.round.id}")
    assert "(drafts allowed)" in shown.text


def test_a_language_without_a_translation_is_refused(client, world):
    login_as(client, world.lead)
    url = f"/staff/rounds/{world.round.id}/languages"
    page = client.get(url)
    refused = client.post(url, data={"languages": ["pl"], "allow_drafts": "y",
                                     "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 400  # not one of the choices
    db.session.refresh(world.round)
    assert world.round.languages == []


def test_teachers_cannot_change_languages(client, world):
    login_as(client, world.teacher)
    assert client.get(f"/staff/rounds/{world.round.id}/languages").status_code == 403
