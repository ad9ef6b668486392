"""The read side of the group pages: the list with counts, a group's pupils, staff, rounds
and history. Everything goes through the user's Scope; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from ..accounts.scope import Scope
from ..models import (
    ChangeLog,
    Group,
    Pupil,
    StaffUser,
    SurveyRound,
    group_members,
    group_staff,
    round_groups,
)
from .operations import KINDS, owner_of


@dataclass(frozen=True)
class GroupSummary:
    group: Group
    owner: str
    pupils: int
    schools: int
    year_groups: list[int]
    lead: str | None


def group_summaries(session: Session, scope: Scope, include_archived: bool = False) -> list[GroupSummary]:
    """Return the groups `scope` may see with counts, year groups and lead teacher (4 queries)."""
    groups = list(session.scalars(
        scope.groups(include_archived=include_archived)
        .options(selectinload(Group.school), selectinload(Group.partnership))
    ))
    ids = [g.id for g in groups]
    if not ids:
        return []
    live = and_(group_members.c.group_id.in_(ids), Pupil.archived.is_(False))
    joined = group_members.join(Pupil, Pupil.id == group_members.c.pupil_id)
    counts = {gid: (n, s) for gid, n, s in session.execute(
        select(group_members.c.group_id, func.count(Pupil.id), func.count(distinct(Pupil.school_id)))
        .select_from(joined).where(live).group_by(group_members.c.group_id)
    )}
    years: dict[int, list[int]] = {}
    for gid, year in session.execute(
        select(group_members.c.group_id, Pupil.year_group).select_from(joined).where(live).distinct()
        .order_by(group_members.c.group_id, Pupil.year_group)
    ):
        years.setdefault(gid, []).append(year)
    leads = dict(session.execute(
        select(group_staff.c.group_id, StaffUser.name)
        .join(StaffUser, StaffUser.id == group_staff.c.staff_id)
        .where(group_staff.c.group_id.in_(ids), group_staff.c.is_lead.is_(True))
    ).all())
    out = []
    for g in groups:
        owner = owner_of(g)
        n, s = counts.get(g.id, (0, 0))
        out.append(GroupSummary(g, owner.label if owner else "No owner set", n, s,
                                years.get(g.id, []), leads.get(g.id)))
    return out


def group_pupils(session: Session, scope: Scope, group: Group) -> list[Pupil]:
    """Return the group's pupils that `scope` may see, by school, year and name."""
    return list(session.scalars(
        scope.pupils().join(group_members, group_members.c.pupil_id == Pupil.id)
        .where(group_members.c.group_id == group.id)
        .options(selectinload(Pupil.school))
        .order_by(Pupil.surname, Pupil.first_name, Pupil.id)
    ))


@dataclass(frozen=True)
class StaffPlace:
    user: StaffUser
    is_lead: bool


def group_staff_of(session: Session, group: Group) -> list[StaffPlace]:
    """Return the group's staff, the lead teacher first."""
    rows = session.execute(
        select(StaffUser, group_staff.c.is_lead)
        .join(group_staff, group_staff.c.staff_id == StaffUser.id)
        .where(group_staff.c.group_id == group.id)
        .options(selectinload(StaffUser.school), selectinload(StaffUser.partnership))
        .order_by(group_staff.c.is_lead.desc(), StaffUser.name)
    ).all()
    return [StaffPlace(user, bool(lead)) for user, lead in rows]


def group_rounds(session: Session, scope: Scope, group: Group) -> list[SurveyRound]:
    """Return the survey rounds the group is in that `scope` may see, newest first."""
    return list(session.scalars(
        # IN, not a join: the teacher's round condition is itself a subquery on round_groups.
        scope.rounds().where(SurveyRound.id.in_(
            select(round_groups.c.round_id).where(round_groups.c.group_id == group.id)))
    ))


@dataclass(frozen=True)
class HistoryItem:
    at: datetime
    who: str
    action: str
    details: list[str]


def _names(ids: list[int], known: dict[int, str], noun: str) -> str:
    shown = [known[i] for i in ids if i in known]
    hidden = len(ids) - len(shown)
    text = ", ".join(shown[:20])
    if len(shown) > 20:
        text += f" and {len(shown) - 20} more"
    if hidden:
        text += ("; " if text else "") + f"{hidden} {noun}{'s' if hidden != 1 else ''} you cannot see"
    return text


def _describe(entry: ChangeLog, pupils: dict[int, str], staff: dict[int, str]) -> list[str]:
    c = entry.changes or {}
    lines: list[str] = []
    if entry.action == "created":
        kind = KINDS.get(c.get("kind"), c.get("kind"))
        lines.append(f"Name: {c.get('name')}; {kind}; belongs to {c.get('owner')}")
        if c.get("lead_id"):
            lines.append(f"Lead teacher: {staff.get(c['lead_id'], 'an account since removed')}")
        if c.get("staff_ids"):
            lines.append(f"Staff: {_names(c['staff_ids'], staff, 'account')}")
    elif entry.action == "edited":
        labels = {"name": "Name", "kind": "Kind", "description": "Description", "owner": "Owner"}
        for key, (old, new) in c.items():
            lines.append(f"{labels.get(key, key)}: “{old or ''}” → “{new or ''}”")
    elif entry.action == "changed staff":
        if "lead_id" in c:
            old, new = c["lead_id"]
            lines.append(f"Lead teacher: {staff.get(old, 'none') if old else 'none'} → "
                         f"{staff.get(new, 'none') if new else 'none'}")
        if c.get("added_ids"):
            lines.append(f"Added: {_names(c['added_ids'], staff, 'account')}")
        if c.get("removed_ids"):
            lines.append(f"Removed: {_names(c['removed_ids'], staff, 'account')}")
    elif entry.action in ("added pupils", "removed pupils"):
        count = c.get("count", 0)
        names = _names(c.get("pupil_ids", []), pupils, "pupil")
        lines.append(f"{count} pupil{'s' if count != 1 else ''}: {names}")
        by = c.get("by")
        if by:
            parts = [f"Year {by['year_group']}" if by.get("year_group") else None,
                     f"registration group {by['reg_group']}" if by.get("reg_group") else None]
            lines.append(f"All of {' and '.join(p for p in parts if p)} at {by.get('school')}")
        if c.get("codes_issued"):
            lines.append(f"{c['codes_issued']} access code{'s' if c['codes_issued'] != 1 else ''} made")
    return lines


def group_history(session: Session, scope: Scope, group: Group) -> list[HistoryItem]:
    """Return the group's change log, newest first, with names the user may see."""
    entries = list(session.scalars(
        select(ChangeLog).where(ChangeLog.entity == "group", ChangeLog.entity_id == group.id)
        .options(selectinload(ChangeLog.staff)).order_by(ChangeLog.at.desc(), ChangeLog.id.desc())
    ))
    pupil_ids: set[int] = set()
    staff_ids: set[int] = set()
    for e in entries:
        c = e.changes or {}
        pupil_ids.update(c.get("pupil_ids", []))
        staff_ids.update(c.get("staff_ids", []) + c.get("added_ids", []) + c.get("removed_ids", []))
        lead = c.get("lead_id")
        staff_ids.update(x for x in (lead if isinstance(lead, list) else [lead]) if x)
    pupils = {}
    if pupil_ids:
        pupils = {p.id: p.display_name for p in session.scalars(
            scope.pupils(include_archived=True).where(Pupil.id.in_(pupil_ids)))}
    staff = dict(session.execute(
        select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(staff_ids))).all()) if staff_ids else {}
    return [
        HistoryItem(e.at, e.staff.name if e.staff else "System", e.action, _describe(e, pupils, staff))
        for e in entries
    ]
