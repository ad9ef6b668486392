"""Setting up schools: create one, change its name or URN (each change logged)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Partnership, School, StaffUser
from ..services.audit import diff_fields, record_change

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
