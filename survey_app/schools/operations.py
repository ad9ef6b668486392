"""Writes of the schools area: create a school, change its name or URN, save a pupil's
record from its edit page (each change logged)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit.changes import diff_fields, record_change
from ..flags.operations import set_flags
from ..models import Partnership, Pupil, School, StaffUser
from .leaving import set_left_on
from .pupils import set_sharing, update_pupil

URN_PATTERN = re.compile(r"^[0-9]{5,7}$")


class SchoolError(ValueError):
    """A refused school change; `field` names the form field, the message is safe to show."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def urn_problem(session: Session, urn: str, school_id: int | None = None) -> str | None:
    """Return why `urn` cannot be used (not 5–7 digits, or another school has it), else None."""
    if not URN_PATTERN.match(urn):
        return "A URN is 5 to 7 digits, for example 100001."
    taken = select(func.count()).select_from(School).where(School.urn == urn)
    if school_id is not None:
        taken = taken.where(School.id != school_id)
    if session.scalar(taken):
        return f"Another school already has URN {urn}."
    return None


def _check(session: Session, name: str, urn: str, school_id: int | None) -> tuple[str, str]:
    name, urn = " ".join((name or "").split()), (urn or "").strip()
    if not name:
        raise SchoolError("name", "Give the school's name.")
    if len(name) > 200:
        raise SchoolError("name", "Use at most 200 characters.")
    if problem := urn_problem(session, urn, school_id):
        raise SchoolError("urn", problem)
    return name, urn


def create_school(session: Session, staff: StaffUser | None, name: str, urn: str,
                  partnership: Partnership | None) -> School:
    """Return a new school (flushed, not committed); refuses (SchoolError) a bad name or URN."""
    name, urn = _check(session, name, urn, None)
    school = School(name=name, urn=urn, partnership_id=partnership.id if partnership else None)
    session.add(school)
    session.flush()
    record_change(session, staff, "school", school.id, "created", {
        "name": [None, name], "urn": [None, urn],
        "partnership": [None, partnership.name if partnership else None]})
    return school


def update_school(session: Session, staff: StaffUser | None, school: School, name: str, urn: str) -> dict:
    """Change a school's name and URN; return {field: [old, new]}. Refuses (SchoolError) bad values."""
    name, urn = _check(session, name, urn, school.id)
    changes = diff_fields(school, {"name": name, "urn": urn})
    if changes:
        record_change(session, staff, "school", school.id, "edited", changes)
    return changes


def save_pupil_record(session: Session, staff: StaffUser, pupil: Pupil, values: dict, shared: bool | None,
                      left_on, today, flag_ids: list[int]) -> dict:
    """Save a pupil's edited record: the fields, the sharing choice (None when this user may
    not set it), the leaving date and the flags; return what changed (empty: nothing).

    Refuses (FlagError) a flag that no longer exists; the caller rolls back.
    """
    values = dict(values)
    values["first_name"] = values["first_name"].strip()
    values["surname"] = values["surname"].strip()
    values["reg_group"] = (values["reg_group"] or "").strip() or None
    values["gender"] = values["gender"] or None
    changes = update_pupil(session, staff, pupil, values)
    if shared is not None and set_sharing(session, staff, pupil, shared):
        changes = {**changes, "shared_with_partnership": True}
    changes |= set_left_on(session, staff, pupil, left_on, today)
    changes |= set_flags(session, staff, pupil, flag_ids)
    return changes
