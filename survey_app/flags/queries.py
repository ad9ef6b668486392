"""What the flag pages show: flags with their pupil counts, a flag's pupils, the pupils a
flag may be set on (filtered by school, year group and name), and a flag's history.

Read-only; every query starts from the Scope. Writes are in services/flags.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..accounts.scope import Scope
from ..groups.operations import Owner
from ..models import ChangeLog, Pupil, PupilFlag, School, StaffUser, pupil_flag_members
from .operations import flags_in_scope, owner_of

SEARCH_LIMIT = 200


@dataclass(frozen=True)
class FlagSummary:
    flag: PupilFlag
    owner: Owner
    pupils: int  # pupils the viewer may see who have the flag (archived included)
    can_manage: bool  # rename, describe, delete


def flag_summaries(session: Session, scope: Scope) -> list[FlagSummary]:
    """Return every flag `scope` sees with its number of pupils in scope, in three queries."""
    flags = flags_in_scope(session, scope)
    ids = [f.id for f in flags]
    if not ids:
        return []
    counts = dict(session.execute(
        select(pupil_flag_members.c.flag_id, func.count())
        .join(Pupil, Pupil.id == pupil_flag_members.c.pupil_id)
        .where(pupil_flag_members.c.flag_id.in_(ids), scope.pupil_condition())
        .group_by(pupil_flag_members.c.flag_id)).all())
    manageable = set(session.scalars(
        select(PupilFlag.id).where(PupilFlag.id.in_(ids), scope.flag_manage_condition())))
    return [FlagSummary(f, owner_of(f), counts.get(f.id, 0), f.id in manageable) for f in flags]


def flag_pupils(scope: Scope, flag: PupilFlag) -> Select:
    """Return the SELECT of the pupils with `flag` that `scope` may see (archived too), by name."""
    return (scope.pupils(include_archived=True)
            .join(pupil_flag_members, pupil_flag_members.c.pupil_id == Pupil.id)
            .where(pupil_flag_members.c.flag_id == flag.id)
            .options(selectinload(Pupil.school))
            .order_by(func.lower(Pupil.surname), func.lower(Pupil.first_name), Pupil.id))





def candidate_pupils(scope: Scope, flag: PupilFlag) -> Select:
    """Return the SELECT of pupils on roll that `scope` may set `flag` on."""
    return scope.pupils().where(scope.flag_pupil_condition(flag))


def candidate_schools(session: Session, scope: Scope, flag: PupilFlag) -> list[School]:
    """Return the schools in scope whose pupils may have `flag`, by name."""
    owner = School.id == flag.school_id if flag.school_id is not None else \
        School.partnership_id == flag.partnership_id
    return list(session.scalars(scope.schools().where(owner)))


def candidate_years(session: Session, scope: Scope, flag: PupilFlag) -> list[int]:
    """Return the year groups among the pupils `scope` may set `flag` on."""
    sub = candidate_pupils(scope, flag).subquery()
    return list(session.scalars(select(sub.c.year_group).distinct().order_by(sub.c.year_group)))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Candidates:
    pupils: list[Pupil]
    flagged_ids: set[int]  # those of `pupils` who already have the flag
    more: bool  # more pupils matched than are shown


def search_candidates(session: Session, scope: Scope, flag: PupilFlag, text: str = "",
                      school_id: int | None = None, year_group: int | None = None) -> Candidates:
    """Return up to SEARCH_LIMIT pupils `scope` may set `flag` on, by school, year and name.

    `text` keeps pupils whose name or UPN holds every word.
    """
    stmt = candidate_pupils(scope, flag)
    for word in text.split()[:6]:
        pattern = _like(word.lower())
        stmt = stmt.where(or_(
            func.lower(Pupil.first_name).like(pattern, escape="\\"),
            func.lower(Pupil.surname).like(pattern, escape="\\"),
            func.lower(Pupil.upn).like(pattern, escape="\\"),
        ))
    if school_id is not None:
        stmt = stmt.where(Pupil.school_id == school_id)
    if year_group is not None:
        stmt = stmt.where(Pupil.year_group == year_group)
    rows = list(session.scalars(
        stmt.join(School, School.id == Pupil.school_id).options(selectinload(Pupil.school))
        .order_by(School.name, Pupil.year_group, func.lower(Pupil.surname), func.lower(Pupil.first_name),
                  Pupil.id)
        .limit(SEARCH_LIMIT + 1)))
    shown = rows[:SEARCH_LIMIT]
    ids = [p.id for p in shown]
    flagged = set(session.scalars(select(pupil_flag_members.c.pupil_id).where(
        pupil_flag_members.c.flag_id == flag.id, pupil_flag_members.c.pupil_id.in_(ids)))) if ids else set()
    return Candidates(shown, flagged, len(rows) > SEARCH_LIMIT)


# ----- a flag's history --------------------------------------------------------------------


@dataclass(frozen=True)
class FlagHistoryEntry:
    at: datetime
    who: str
    action: str
    details: list[str]


def flag_history(session: Session, flag: PupilFlag, limit: int = 50) -> list[FlagHistoryEntry]:
    """Return the flag's latest change-log entries, newest first, ready to show.

    Pupils are counted, never named: the viewer may not see every pupil in an entry.
    """
    rows = session.execute(
        select(ChangeLog, StaffUser.name).outerjoin(StaffUser, ChangeLog.staff_id == StaffUser.id)
        .where(ChangeLog.entity == "flag", ChangeLog.entity_id == flag.id)
        .order_by(ChangeLog.at.desc(), ChangeLog.id.desc()).limit(limit))
    entries = []
    for entry, name in rows:
        changes = entry.changes or {}
        details = []
        if "count" in changes:
            n = changes["count"]
            details.append(f"{n} pupil{'' if n == 1 else 's'}")
        for field, label in (("name", "Name"), ("description", "Description")):
            pair = changes.get(field)
            if isinstance(pair, list) and len(pair) == 2 and (pair[0] or pair[1]):
                details.append(f"{label}: {pair[0] or '—'} → {pair[1] or '—'}" if pair[0] else
                               f"{label}: {pair[1] or '—'}")
        if "owner" in changes:
            details.append(f"Belongs to {changes['owner']}")
        who = name or ("Command line" if entry.staff_id is None else "Former staff")
        entries.append(FlagHistoryEntry(entry.at, who, entry.action, details))
    return entries

