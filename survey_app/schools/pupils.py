"""Pupil records: finding them within a scope, counting them, editing and archiving them.

Every query starts from the Scope, so a member of staff only ever counts or finds pupils
they may see. Writes record a ChangeLog entry (entity "pupil") with {field: [old, new]}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..audit.changes import diff_fields, record_change
from ..models import ChangeLog, Group, Pupil, School, StaffUser, group_members
from ..models.people import year_label

PER_PAGE = 50
YEAR_GROUPS = tuple(range(0, 15))  # 0 is Reception
SEN_LABELS = {"N": "None", "K": "SEN support", "E": "EHC plan"}
FIELD_LABELS = {
    "upn": "UPN", "first_name": "First name", "surname": "Surname", "year_group": "Year group",
    "reg_group": "Reg group", "gender": "Gender", "sen": "SEN", "fsm": "FSM", "eal": "EAL",
    "archived": "Archived", "school_id": "School", "flags": "Flags", "left_on": "Left the school on",
    "date_of_birth": "Date of birth",
    "shared_with_partnership": "Shared with the partnership",
}
EDITABLE = ("first_name", "surname", "year_group", "reg_group", "gender", "sen", "fsm", "eal")
STATUSES = {"current": "On roll", "archived": "Archived", "all": "All pupils"}






def show_value(fld: str, value: Any) -> str:
    """Return a stored value as a page shows it (Yes/No, Year 7, SEN support, —)."""
    if value is None or value == "":
        return "—"
    if fld == "year_group":
        return year_label(value)
    if fld == "sen":
        return f"{value} ({SEN_LABELS[value]})" if value in SEN_LABELS else str(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.strftime("%-d %b %Y")
    if fld == "flags" and isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "—"
    if fld in ("left_on", "date_of_birth") and isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).strftime("%-d %b %Y")
        except ValueError:
            return value
    return str(value)


# ----- finding and counting --------------------------------------------------------------


@dataclass
class PupilFilters:
    """A search of one school's pupils: text (name or UPN), year group, reg group, status."""

    text: str = ""
    year_group: int | None = None
    reg_group: str = ""
    status: str = "current"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def pupils_query(scope: Scope, school: School, filters: PupilFilters) -> Select:
    """Return the SELECT of the school's pupils the filters keep, by surname then first name."""
    stmt = scope.pupils(include_archived=filters.status != "current").where(Pupil.school_id == school.id)
    if filters.status == "archived":
        stmt = stmt.where(Pupil.archived.is_(True))
    text = " ".join(filters.text.split())
    if text:
        pattern = _like(text.lower())
        full = func.lower(Pupil.first_name + " " + Pupil.surname)
        stmt = stmt.where(or_(
            full.like(pattern, escape="\\"),
            func.lower(Pupil.surname + " " + Pupil.first_name).like(pattern, escape="\\"),
            func.lower(Pupil.upn).like(pattern, escape="\\"),
        ))
    if filters.year_group is not None:
        stmt = stmt.where(Pupil.year_group == filters.year_group)
    if filters.reg_group:
        stmt = stmt.where(Pupil.reg_group == filters.reg_group)
    return stmt.order_by(func.lower(Pupil.surname), func.lower(Pupil.first_name), Pupil.id)






def reg_groups(session: Session, scope: Scope, school: School) -> list[str]:
    """Return the reg groups in use at the school (archived pupils included), sorted."""
    stmt = (scope.pupils(include_archived=True).with_only_columns(Pupil.reg_group).distinct()
            .where(Pupil.school_id == school.id, Pupil.reg_group.is_not(None)))
    return sorted(session.scalars(stmt), key=str.lower)


def pupil_counts(session: Session, scope: Scope) -> dict[int, int]:
    """Return {school id: pupils on roll} over the schools the scope sees."""
    stmt = scope.pupils().with_only_columns(Pupil.school_id, func.count()).group_by(Pupil.school_id)
    return {school_id: n for school_id, n in session.execute(stmt)}


def year_group_counts(session: Session, scope: Scope, school_ids: list[int]) -> dict[int, dict[int, int]]:
    """Return {school id: {year group: pupils on roll}} for the given schools."""
    stmt = (scope.pupils().with_only_columns(Pupil.school_id, Pupil.year_group, func.count())
            .where(Pupil.school_id.in_(school_ids)).group_by(Pupil.school_id, Pupil.year_group))
    counts: dict[int, dict[int, int]] = {sid: {} for sid in school_ids}
    for school_id, year, n in session.execute(stmt):
        counts[school_id][year] = n
    return counts


def archived_count(session: Session, scope: Scope, school: School) -> int:
    stmt = (scope.pupils(include_archived=True).with_only_columns(func.count())
            .where(Pupil.school_id == school.id, Pupil.archived.is_(True)))
    return session.scalar(stmt) or 0


def groups_of(session: Session, scope: Scope, pupil: Pupil) -> list[Group]:
    """Return the pupil's groups that the scope sees, by name."""
    return list(session.scalars(
        scope.groups(include_archived=True)
        .join(group_members, group_members.c.group_id == Group.id)
        .where(group_members.c.pupil_id == pupil.id)))


# ----- history ---------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    at: datetime
    who: str
    action: str
    changes: list[tuple[str, str, str]]  # (label, old, new), as shown


def pupil_history(session: Session, pupil: Pupil) -> list[HistoryEntry]:
    """Return the pupil's change-log entries, newest first, ready to show."""
    rows = session.execute(
        select(ChangeLog, StaffUser.name).outerjoin(StaffUser, ChangeLog.staff_id == StaffUser.id)
        .where(ChangeLog.entity == "pupil", ChangeLog.entity_id == pupil.id)
        .order_by(ChangeLog.at.desc(), ChangeLog.id.desc()))
    entries = []
    for entry, name in rows:
        pairs = [(fld, pair) for fld, pair in (entry.changes or {}).items()
                 if isinstance(pair, list) and len(pair) == 2]
        changes = [(FIELD_LABELS.get(fld, fld), show_value(fld, old), show_value(fld, new))
                   for fld, (old, new) in pairs]
        who = name or ("Command line" if entry.staff_id is None else "Former staff")
        entries.append(HistoryEntry(entry.at, who, entry.action, changes))
    return entries


# ----- writing ---------------------------------------------------------------------------


def update_pupil(session: Session, staff: StaffUser, pupil: Pupil, values: dict[str, Any]) -> dict:
    """Apply the edited values; return {field: [old, new]} (empty when nothing changed).

    Refuses (ValueError) fields that are not editable. Does not commit.
    """
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    changes = diff_fields(pupil, values)
    if changes:
        record_change(session, staff, "pupil", pupil.id, "edited", changes)
    return changes


def can_set_sharing(staff: StaffUser, school) -> bool:
    """True when `staff` decides whether the school's pupils are shared with its partnership:
    an admin, or a lead of that school (the school's decision, not the partnership's)."""
    if school.partnership_id is None:
        return False
    return staff.role == "admin" or (staff.role == "lead" and staff.school_id == school.id)


def set_sharing(session: Session, staff: StaffUser, pupil: Pupil, shared: bool) -> bool:
    """Share (or stop sharing) one pupil's data with the partnership's leads; False when
    nothing changed. Does not commit."""
    if pupil.shared_with_partnership == shared:
        return False
    pupil.shared_with_partnership = shared
    record_change(session, staff, "pupil", pupil.id, "sharing", {"shared_with_partnership": [not shared, shared]})
    return True


def sharing_counts(session: Session, school) -> dict[str, int]:
    """Return how many of the school's pupils on roll are shared with the partnership, and not."""
    rows = session.execute(
        select(Pupil.shared_with_partnership, func.count())
        .where(Pupil.school_id == school.id, Pupil.archived.is_(False))
        .group_by(Pupil.shared_with_partnership)
    ).all()
    counts = {bool(shared): n for shared, n in rows}
    return {"shared": counts.get(True, 0), "private": counts.get(False, 0)}


def set_school_sharing(session: Session, staff: StaffUser, school, shared: bool) -> int:
    """Share (or stop sharing) every pupil of a school; return how many changed. Does not commit."""
    pupils = session.scalars(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.shared_with_partnership.is_(not shared))
    ).all()
    for pupil in pupils:
        set_sharing(session, staff, pupil, shared)
    return len(pupils)


def set_archived(session: Session, staff: StaffUser, pupil: Pupil, archived: bool) -> bool:
    """Archive (or bring back) a pupil; return False when they already were. Does not commit.

    An archived pupil is hidden from lists and cannot sign in with a code.
    """
    if pupil.archived == archived:
        return False
    pupil.archived = archived
    record_change(session, staff, "pupil", pupil.id, "archived" if archived else "unarchived",
                  {"archived": [not archived, archived]})
    return True
