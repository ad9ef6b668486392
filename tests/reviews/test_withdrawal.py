"""Families' rights: a withdrawal stops codes, leaves the pupil out of later rounds and
(when the school chooses) erases earlier answers; audit-logged; leads and admins only."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AccessCode, ChangeLog, Response, SurveyRound
from survey_app.models.base import utcnow
from survey_app.models.reviews import Withdrawal
from survey_app.pupil.codes import check_code, issue_codes_for_group
from survey_app.rounds.completion import round_summaries
from tests.conftest import csrf_from, login_as
from tests.reviews.support import finish_with_levels


def _withdraw(client, pupil, answers):
    page = client.get(f"/staff/pupils/{pupil.id}/withdraw")
    return client.post(f"/staff/pupils/{pupil.id}/withdraw",
                       data={"answers": answers, "note": "Mother asked by phone", "csrf_token": csrf_from(page.text)})


def _codes(pupil):
    return db.session.scalars(sa.select(AccessCode.code).where(AccessCode.pupil_id == pupil.id)).all()


def test_withdrawal_stops_codes_and_leaves_the_pupil_out_of_later_rounds(client, staff_world):
    from survey_app.accounts.scope import Scope

    sw = staff_world
    pupil, done = sw.pupils[1], sw.pupils[2]
    finish_with_levels(sw, sw.round, done, {})
    old_code = _codes(pupil)[0]
    login_as(client, sw.lead)
    resp = _withdraw(client, pupil, "kept")
    assert resp.status_code == 302
    assert _codes(pupil) == [] and not check_code(db.session, old_code, utcnow()).ok
    # A later round of the group makes no code for the pupil and leaves them out.
    now = utcnow()
    later = SurveyRound(name="After", phase="after", questionnaire_version_id=sw.version.id,
                        opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(days=3), mode="page",
                        partnership_id=sw.partnership.id, groups=[sw.group])
    db.session.add(later)
    db.session.commit()
    issue_codes_for_group(db.session, sw.group.id, utcnow())
    db.session.commit()
    assert _codes(pupil) == []
    summary = round_summaries(db.session, Scope(sw.lead), [later])[0]
    assert summary.total == len(sw.group.pupils) - 1
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.action == "withdrawn from the survey"))
    assert entry.entity_id == pupil.id and entry.changes["answers"] == "kept"
    # Kept answers stay in the earlier round.
    _withdraw(client, done, "kept")
    earlier = round_summaries(db.session, Scope(sw.lead), [sw.round])[0]
    assert earlier.finished == 1 and earlier.total == len(sw.group.pupils) - 1
    # Recorded once; a second attempt changes nothing.
    _withdraw(client, pupil, "erased")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Withdrawal)) == 2
    assert db.session.scalar(sa.select(Withdrawal.answers).where(Withdrawal.pupil_id == pupil.id)) == "kept"


def test_erasing_earlier_answers_takes_the_pupil_out_of_reports(client, staff_world):
    from survey_app.accounts.scope import Scope

    sw = staff_world
    pupil = sw.pupils[0]
    finish_with_levels(sw, sw.round, pupil, {})
    finish_with_levels(sw, sw.round, sw.pupils[1], {})
    assert round_summaries(db.session, Scope(sw.lead), [sw.round])[0].finished == 2
    login_as(client, sw.lead)
    assert _withdraw(client, pupil, "erased").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(Response.pupil_id == pupil.id)) == 0
    summary = round_summaries(db.session, Scope(sw.lead), [sw.round])[0]
    assert summary.finished == 1 and summary.total == len(sw.group.pupils) - 1


def test_withdrawal_is_for_leads_in_scope_and_needs_a_choice(client, staff_world):
    sw = staff_world
    pupil = sw.pupils[0]
    login_as(client, sw.teacher)
    assert client.get(f"/staff/pupils/{pupil.id}/withdraw").status_code == 403
    login_as(client, sw.other_lead)
    assert client.get(f"/staff/pupils/{pupil.id}/withdraw").status_code == 404
    login_as(client, sw.lead)
    resp = _withdraw(client, pupil, "")
    assert resp.status_code == 400 and "Choose whether the answers already given are kept or erased" in resp.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Withdrawal)) == 0 and _codes(pupil)
