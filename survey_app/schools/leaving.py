"""A pupil's leaving date: the day they left the school (retention counts from it)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import Pupil, School, StaffUser
from ..models.base import utcnow


def school_today(school: School) -> date:
    """Return today's date where the school is (its time zone, Europe/London by default)."""
    return utcnow().astimezone(ZoneInfo(school.timezone or "Europe/London")).date()


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def set_left_on(session: Session, staff: StaffUser | None, pupil: Pupil, day: date | None,
                today: date) -> dict[str, list]:
    """Record the day `pupil` left (None: still on roll); return {"left_on": [old, new]} as
    ISO dates, empty when unchanged. Refuses (ValueError) a day after `today`. Does not commit.
    """
    if day is not None and day > today:
        raise ValueError("The leaving date cannot be in the future.")
    if pupil.left_on == day:
        return {}
    changes = {"left_on": [_iso(pupil.left_on), _iso(day)]}
    pupil.left_on = day
    record_change(session, staff, "pupil", pupil.id, "edited", changes)
    return changes
