"""The pattern thresholds a school or a partnership chooses: read, checked and saved."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import PatternThreshold, StaffUser
from .patterns import PATTERNS

RANGES = {"low": (0, 100), "positive": (0, 100), "attendance": (0, 100), "subjects": (1, 20), "points": (1, 100)}


def field_name(pattern: str, name: str) -> str:
    return f"{pattern}.{name}"


def chosen(session: Session, owner: tuple[str, int]) -> dict[str, dict[str, float]]:
    """Return {pattern: {threshold: value}} that the owner ("school" or "partnership", id) chose."""
    column = PatternThreshold.school_id if owner[0] == "school" else PatternThreshold.partnership_id
    out: dict[str, dict[str, float]] = {}
    other = PatternThreshold.partnership_id if owner[0] == "school" else PatternThreshold.school_id
    for row in session.scalars(select(PatternThreshold).where(column == owner[1], other.is_(None))):
        out.setdefault(row.pattern, {})[row.name] = row.value
    return out


def check(form: dict[str, str]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Return (values chosen, problems in words) from form fields "<pattern>.<threshold>";
    a blank field means our default."""
    values: dict[str, dict[str, float]] = {}
    problems = []
    for p in PATTERNS:
        for name in p.defaults:
            raw = (form.get(field_name(p.key, name)) or "").strip()
            if not raw:
                continue
            low, high = RANGES[name]
            try:
                value = float(raw)
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                problems.append(f"{p.name}: \u201c{p.labels[name]}\u201d must be a number from {low} to {high} "
                                f"(you typed \u201c{raw[:20]}\u201d).")
                continue
            values.setdefault(p.key, {})[name] = value
    return values, problems


def save(session: Session, staff: StaffUser, owner: tuple[str, int], values: dict[str, dict[str, float]]) -> bool:
    """Replace the owner's chosen thresholds with `values`; return whether anything changed.
    One change-log and audit entry; the caller commits."""
    before = chosen(session, owner)
    if before == values:
        return False
    column = PatternThreshold.school_id if owner[0] == "school" else PatternThreshold.partnership_id
    other = PatternThreshold.partnership_id if owner[0] == "school" else PatternThreshold.school_id
    session.execute(delete(PatternThreshold).where(column == owner[1], other.is_(None)))
    for pattern, named in values.items():
        for name, value in named.items():
            session.add(PatternThreshold(**{f"{owner[0]}_id": owner[1]}, pattern=pattern, name=name, value=value,
                                         updated_by_id=staff.id))
    record_change(session, staff, owner[0], owner[1], "set pattern thresholds", {"before": before, "after": values})
    return True
