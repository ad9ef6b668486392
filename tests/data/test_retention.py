"""`flask apply-retention`: pupils who left longer ago than RETENTION_DAYS are erased."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AuditEvent, Pupil, Response
from survey_app.models.base import utcnow
from tests.profiles.test_profiles import answer_round


def today():
    return utcnow().astimezone(ZoneInfo("Europe/London")).date()


def leavers(w):
    """Pupil 0 left 800 days ago (due), pupil 1 100 days ago (kept), pupil 2 exactly 730
    days ago (kept: the period has not passed), the Elsewhere pupil 1000 days ago (due)."""
    w.pupils[0].left_on = today() - timedelta(days=800)
    w.pupils[1].left_on = today() - timedelta(days=100)
    w.pupils[2].left_on = today() - timedelta(days=730)
    w.other_pupil.left_on = today() - timedelta(days=1000)
    db.session.commit()
    return [w.pupils[0].id, w.other_pupil.id]


def remaining() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(Pupil.id)))


def test_dry_run_says_who_and_changes_nothing(runner, staff_world):
    w = staff_world
    leavers(w)
    before = remaining()
    result = runner.invoke(args=["apply-retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Retention period: 730 days" in result.output
    assert "2 pupils would be erased" in result.output
    assert "Test School (URN 100001): 1" in result.output and "Elsewhere Academy (URN 200001): 1" in result.output
    assert "Second School" not in result.output and "Dry run: nothing was changed." in result.output
    assert remaining() == before
    assert not db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pupil erased")).all()


def test_retention_erases_leavers_and_is_safe_to_run_again(runner, staff_world):
    w = staff_world
    answer_round(w, w.round, [w.pupils[0], w.pupils[1]], level=3)
    due = leavers(w)
    kept = remaining() - set(due)
    result = runner.invoke(args=["apply-retention"])
    assert result.exit_code == 0, result.output
    assert "2 pupils to erase" in result.output and "Erased 2 pupils: 1 responses" in result.output
    assert remaining() == kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    erasures = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pupil erased")).all()
    assert len(erasures) == 2
    assert all(e.staff_id is None and e.pupil_id is None and e.detail == {"by": "retention job"} for e in erasures)

    again = runner.invoke(args=["apply-retention"])
    assert again.exit_code == 0 and "Nothing to do" in again.output
    assert remaining() == kept
    assert len(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pupil erased")).all()) == 2


def test_the_period_comes_from_config(app, runner, staff_world):
    w = staff_world
    leavers(w)
    app.config["RETENTION_DAYS"] = 50
    result = runner.invoke(args=["apply-retention", "--dry-run"])
    assert result.exit_code == 0 and "Retention period: 50 days" in result.output
    assert "4 pupils would be erased" in result.output and "Test School (URN 100001): 3" in result.output


def test_nothing_due_exits_cleanly(runner, staff_world):
    result = runner.invoke(args=["apply-retention"])
    assert result.exit_code == 0 and "No pupils are due for erasure. Nothing to do." in result.output
