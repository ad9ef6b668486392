"""Targets and ladders: added in a meeting, steps ticked with dates, reviewed; shown on the
learning profile; audit-logged; scoped; erased with the pupil. And a round's sharing settings."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AuditEvent, ChangeLog
from survey_app.models.base import utcnow
from survey_app.models.reviews import RoundReviewSettings, Target, TargetStep
from tests.conftest import csrf_from, login_as


def _add(client, pupil, **over):
    page = client.get(f"/staff/pupils/{pupil.id}/targets")
    data = {"area": "homework", "detail": "", "words": "Hand in homework on time", "agreed_pupil": "y",
            "agreed_tutor": "y", "step_1": "Write it in the planner", "step_2": "Do it the same evening",
            "review_on": (utcnow().date() + timedelta(days=42)).isoformat(), "csrf_token": csrf_from(page.text)}
    data.update(over)
    return client.post(f"/staff/pupils/{pupil.id}/targets", data=data)


def test_targets_round_trip_through_review(client, staff_world):
    sw = staff_world
    pupil = sw.pupils[0]
    login_as(client, sw.teacher)
    assert _add(client, pupil).status_code == 302
    target = db.session.scalar(sa.select(Target))
    assert (target.area, target.agreed_by, [s.words for s in target.steps]) == (
        "homework", ["pupil", "tutor"], ["Write it in the planner", "Do it the same evening"])
    page = client.get(f"/staff/pupils/{pupil.id}/targets")
    first = target.steps[0].id
    resp = client.post(f"/staff/targets/{target.id}/review",
                       data={"done": str(first), "outcome": "partly", "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    db.session.expire_all()
    target = db.session.get(Target, target.id)
    assert target.outcome == "partly" and target.reviewed_on == utcnow().date()
    assert [s.done_on for s in target.steps] == [utcnow().date(), None]
    # Shown on the learning profile.
    profile = client.get(f"/staff/pupils/{pupil.id}/profile")
    assert "Hand in homework on time" in profile.text and "Partly met" in profile.text
    entries = db.session.scalars(sa.select(ChangeLog).where(ChangeLog.entity == "target")).all()
    assert [e.action for e in entries] == ["added", "reviewed"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.pupil_id == pupil.id, AuditEvent.action.like("target%"))) == 2
    # In the subject access record, then erased with the pupil, steps and all.
    login_as(client, sw.admin)
    record = client.get(f"/staff/admin/pupils/{pupil.id}/subject-access")
    assert "Hand in homework on time" in record.text and "Write it in the planner (done" in record.text
    from survey_app.data.erasure import erase_pupil

    counts = erase_pupil(db.session, sw.admin, db.session.get(type(pupil), pupil.id))
    db.session.commit()
    assert counts["targets"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TargetStep)) == 0


def test_a_bad_target_is_refused_and_targets_follow_scope(client, staff_world):
    sw = staff_world
    login_as(client, sw.teacher)
    for over, message in (({"words": " "}, "Write the target"), ({"area": "subject"}, "Name the subject"),
                          ({"agreed_pupil": "", "agreed_tutor": ""}, "Tick who agreed"),
                          ({"review_on": "2001-01-01"}, "must not be in the past"),
                          ({"csrf_token": "x"}, "")):
        resp = _add(client, sw.pupils[0], **over)
        assert resp.status_code == 400 and message in resp.text, over
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Target)) == 0
    # Scope: the teacher of another group sees and reviews none of it.
    _add(client, sw.pupils[0])
    target = db.session.scalar(sa.select(Target))
    login_as(client, sw.teacher_b)
    assert client.get(f"/staff/pupils/{sw.pupils[0].id}/targets").status_code == 404
    page = client.get(f"/staff/pupils/{sw.other_pupil.id}/targets")
    resp = client.post(f"/staff/targets/{target.id}/review",
                       data={"outcome": "met", "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(Target, target.id).outcome is None


def test_sharing_settings_by_role(client, staff_world):
    sw = staff_world
    url = f"/staff/rounds/{sw.round.id}/sharing"
    login_as(client, sw.teacher)
    assert client.get(url).status_code == 403
    login_as(client, sw.other_lead)
    assert client.get(url).status_code == 404
    login_as(client, sw.lead)
    page = client.get(url)
    assert page.status_code == 200
    refused = client.post(url, data={"pupil_voice": "y", "safeguarding_lead": "0", "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 400 and "Name the designated safeguarding lead" in refused.text
    assert db.session.get(RoundReviewSettings, sw.round.id) is None
    ok = client.post(url, data={"show_results": "y", "pupil_voice": "y", "safeguarding_lead": str(sw.lead.id),
                                "family_contact": "Ms Khan, head of year", "csrf_token": csrf_from(page.text)})
    assert ok.status_code == 302
    settings = db.session.get(RoundReviewSettings, sw.round.id)
    assert (settings.show_results, settings.pupil_voice, settings.safeguarding_lead_id) == (True, True, sw.lead.id)
