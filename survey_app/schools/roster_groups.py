"""Classes in a roster made into groups: a OneRoster bundle's classes (with
--classes-as-groups, or the box on the upload page), or a CSV's "Class Groups" column.

Each class name becomes a class group of the school (one already there with that name is
used), and each pupil joins the groups of their row. An import only adds pupils to
groups: leaving a class in the MIS does not take a pupil out of a group here, because a
group may carry a programme's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import ChangeLog, Group, School, group_members
from ..models.base import utcnow


@dataclass
class GroupPlan:
    """What an import does to groups: the groups it makes and the (group name, UPN) joins."""

    to_make: list[str] = field(default_factory=list)
    joins: list[tuple[str, str]] = field(default_factory=list)

    @property
    def group_names(self) -> list[str]:
        return sorted({name for name, _ in self.joins}, key=str.lower)


def _school_groups(session: Session, school: School) -> dict[str, int]:
    return {name.lower(): gid for gid, name in session.execute(
        select(Group.id, Group.name).where(Group.school_id == school.id, Group.archived.is_(False))
        .order_by(Group.id.desc()))}


def plan_groups(session: Session, school: School, rows: list, pupil_ids: dict[str, int]) -> GroupPlan:
    """Return the groups `rows` (RosterRow with `groups`) need and the joins not there yet;
    `pupil_ids` are the school's pupils already on file by UPN."""
    existing = _school_groups(session, school)
    members: set[tuple[int, int]] = set()
    if existing:
        members = {(gid, pid) for gid, pid in session.execute(
            select(group_members.c.group_id, group_members.c.pupil_id)
            .where(group_members.c.group_id.in_(list(existing.values()))))}
    plan = GroupPlan()
    new: dict[str, str] = {}
    for row in rows:
        for name in row.groups or ():
            gid = existing.get(name.lower())
            if gid is None:
                new.setdefault(name.lower(), name)
            elif (gid, pupil_ids.get(row.upn)) in members:
                continue
            plan.joins.append((name, row.upn))
    plan.to_make = sorted(new.values(), key=str.lower)
    return plan


def apply_groups(session: Session, school: School, plan: GroupPlan, pupil_ids: dict[str, int],
                 staff_id: int | None) -> None:
    """Make the plan's groups and add its joins (in the caller's transaction)."""
    now = utcnow()
    made = []
    for name in plan.to_make:
        group = Group(name=name[:200], kind="class", school_id=school.id,
                      description="Made from the school's roster (a class in the MIS).")
        session.add(group)
        made.append(group)
    session.flush()
    by_name = _school_groups(session, school)
    rows = [{"group_id": by_name[name.lower()], "pupil_id": pupil_ids[upn]} for name, upn in plan.joins]
    if rows:
        dialect = session.get_bind().dialect.name
        insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert_into(group_members).on_conflict_do_nothing(), rows)
    entries = [{"at": now, "staff_id": staff_id, "entity": "group", "entity_id": g.id,
                "action": "created by roster import", "changes": {"name": [None, g.name]}} for g in made]
    joined: dict[int, list[int]] = {}
    for row in rows:
        joined.setdefault(row["group_id"], []).append(row["pupil_id"])
    entries += [{"at": now, "staff_id": staff_id, "entity": "group", "entity_id": gid,
                 "action": "added pupils (roster import)", "changes": {"pupil_ids": ids, "count": len(ids)}}
                for gid, ids in sorted(joined.items())]
    if entries:
        session.execute(insert(ChangeLog), entries)
