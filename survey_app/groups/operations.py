"""Groups (programmes or classes): creating and editing them, their staff, their pupils.

Routes and commands call these with the acting staff member and their Scope; every change
adds a change-log entry in the same transaction, so the route's commit keeps both or
neither. Pupils are always looked up through the Scope: an id the user may not see, or
one from a school outside the group's owner, is "not found" and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import NotFound

from ..accounts.scope import Scope
from ..audit.changes import diff_fields, record_change
from ..models import Group, Partnership, Pupil, School, StaffUser, group_members, group_staff
from ..pupil.codes import issue_codes_for_group

KINDS = {"programme": "Programme", "class": "Class"}
MAX_PUPILS_PER_CHANGE = 2000
SEARCH_LIMIT = 100


class GroupError(ValueError):
    """A refused group change; the message is safe to show, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# ----- owners: a partnership or one school ----------------------------------------------


@dataclass(frozen=True)
class Owner:
    kind: str  # "partnership" or "school"
    id: int
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def owner_of(group: Group) -> Owner | None:
    """Return who owns `group`, or None for an old group with no owner set."""
    if group.partnership_id is not None:
        return Owner("partnership", group.partnership_id, group.partnership.name)
    if group.school_id is not None:
        return Owner("school", group.school_id, group.school.name)
    return None


def owner_options(session: Session, scope: Scope) -> list[Owner]:
    """Return the owners `scope` may give a group: its partnership (if any), then its schools."""
    if scope.is_admin:
        partnerships = list(session.scalars(select(Partnership).order_by(Partnership.name)))
    else:
        partnership = scope.partnership(session)
        partnerships = [partnership] if partnership is not None else []
    options = [Owner("partnership", p.id, p.name) for p in partnerships]
    options += [Owner("school", s.id, s.name) for s in session.scalars(scope.schools())]
    return options


def owner_school_ids(session: Session, owner: Owner | None) -> list[int]:
    """Return the schools whose pupils and staff may join a group of `owner`."""
    if owner is None:
        return []
    if owner.kind == "school":
        return [owner.id]
    return list(session.scalars(select(School.id).where(School.partnership_id == owner.id)))


def _staff_condition(session: Session, owner: Owner):
    """Active lead and teacher accounts of the owner's school(s), or of its partnership."""
    school_ids = owner_school_ids(session, owner)
    if owner.kind == "partnership":
        partnership_id = owner.id
    else:
        partnership_id = session.scalar(select(School.partnership_id).where(School.id == owner.id))
    places = [StaffUser.school_id.in_(school_ids)]
    if partnership_id is not None:
        places.append(StaffUser.partnership_id == partnership_id)
    return and_(StaffUser.active.is_(True), StaffUser.role != "admin", or_(*places))


def staff_choices(session: Session, scope: Scope) -> list[StaffUser]:
    """Return every account that could staff a group of any owner `scope` may choose."""
    if scope.is_admin:  # every school is an option: every lead and teacher may be chosen
        condition = and_(StaffUser.active.is_(True), StaffUser.role != "admin")
    else:
        conditions = [_staff_condition(session, o) for o in owner_options(session, scope)]
        if not conditions:
            return []
        condition = or_(*conditions)
    return list(session.scalars(
        select(StaffUser).where(condition)
        .options(selectinload(StaffUser.school), selectinload(StaffUser.partnership))
        .order_by(StaffUser.name, StaffUser.email)
    ))


# ----- creating and editing ----------------------------------------------------------


@dataclass
class GroupDetails:
    """What the create and edit screens set."""

    name: str
    kind: str
    description: str
    owner: Owner
    lead_id: int | None = None
    staff_ids: list[int] = field(default_factory=list)


def _check_details(session: Session, scope: Scope, details: GroupDetails, group: Group | None) -> None:
    name = details.name.strip()
    if not name:
        raise GroupError("Give the group a name.", "name")
    if details.kind not in KINDS:
        raise GroupError("Choose programme or class.", "kind")
    if details.owner.key not in {o.key for o in owner_options(session, scope)}:
        raise GroupError("Choose your partnership or one of your schools.", "owner")
    same_name = select(Group.id).where(
        func.lower(Group.name) == name.lower(), Group.archived.is_(False),
        Group.partnership_id == details.owner.id if details.owner.kind == "partnership"
        else Group.school_id == details.owner.id,
    )
    if group is not None:
        same_name = same_name.where(Group.id != group.id)
    if session.scalar(same_name) is not None:
        raise GroupError(f"There is already a group called “{name}” at {details.owner.label}.", "name")
    wanted = set(details.staff_ids) | ({details.lead_id} if details.lead_id else set())
    if wanted:
        allowed = set(session.scalars(
            select(StaffUser.id).where(StaffUser.id.in_(wanted), _staff_condition(session, details.owner))
        ))
        refused = wanted - allowed
        if refused:
            names = ", ".join(sorted(session.scalars(
                select(StaffUser.name).where(StaffUser.id.in_(refused)))))
            where = "lead teacher" if refused == {details.lead_id} else "staff"
            raise GroupError(
                f"{names or 'That account'} cannot be {where} here: staff must work at "
                f"{details.owner.label}.", "lead_id" if where == "lead teacher" else "staff_ids",
            )
    if group is not None:
        allowed_schools = set(owner_school_ids(session, details.owner))
        outside = session.scalars(
            select(School.name).distinct()
            .join(Pupil, Pupil.school_id == School.id)
            .join(group_members, group_members.c.pupil_id == Pupil.id)
            .where(group_members.c.group_id == group.id, School.id.not_in(allowed_schools))
            .order_by(School.name)
        ).all()
        if outside:
            raise GroupError(
                f"This group has pupils from {', '.join(outside)}. Remove them before making "
                f"{details.owner.label} the owner.", "owner",
            )


def _staff_rows(details: GroupDetails) -> dict[int, bool]:
    rows = {staff_id: False for staff_id in details.staff_ids}
    if details.lead_id:
        rows[details.lead_id] = True
    return rows


def _current_staff(session: Session, group_id: int) -> dict[int, bool]:
    return dict(session.execute(
        select(group_staff.c.staff_id, group_staff.c.is_lead).where(group_staff.c.group_id == group_id)
    ).all())


def create_group(session: Session, actor: StaffUser, scope: Scope, details: GroupDetails) -> Group:
    """Return a new group with its staff; refuses (GroupError) a bad name, owner or staff."""
    _check_details(session, scope, details, None)
    group = Group(
        name=details.name.strip(), kind=details.kind, description=details.description.strip() or None,
        school_id=details.owner.id if details.owner.kind == "school" else None,
        partnership_id=details.owner.id if details.owner.kind == "partnership" else None,
    )
    session.add(group)
    session.flush()
    rows = _staff_rows(details)
    if rows:
        session.execute(group_staff.insert(), [
            {"group_id": group.id, "staff_id": sid, "is_lead": lead} for sid, lead in rows.items()
        ])
    record_change(session, actor, "group", group.id, "created", {
        "name": group.name, "kind": group.kind, "owner": details.owner.label,
        "lead_id": details.lead_id, "staff_ids": sorted(rows),
    })
    return group


def update_group(session: Session, actor: StaffUser, scope: Scope, group: Group,
                 details: GroupDetails) -> bool:
    """Apply the edit screen to `group`; return whether anything changed.

    Refuses (GroupError) a bad name, an owner outside the user's scope, staff who do not
    work at the owner, or an owner that would leave pupils of other schools in the group.
    """
    if group.archived:
        raise GroupError("This group is archived. Unarchive it before changing it.")
    _check_details(session, scope, details, group)
    old_owner = owner_of(group)
    changes: dict[str, Any] = diff_fields(group, {
        "name": details.name.strip(), "kind": details.kind,
        "description": details.description.strip() or None,
        "school_id": details.owner.id if details.owner.kind == "school" else None,
        "partnership_id": details.owner.id if details.owner.kind == "partnership" else None,
    })
    if "school_id" in changes or "partnership_id" in changes:
        changes.pop("school_id", None)
        changes.pop("partnership_id", None)
        changes["owner"] = [old_owner.label if old_owner else None, details.owner.label]
    if changes:
        record_change(session, actor, "group", group.id, "edited", changes)

    before = _current_staff(session, group.id)
    after = _staff_rows(details)
    staff_changes: dict[str, Any] = {}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    old_lead = next((sid for sid, lead in before.items() if lead), None)
    if added:
        staff_changes["added_ids"] = added
    if removed:
        staff_changes["removed_ids"] = removed
    if old_lead != details.lead_id:
        staff_changes["lead_id"] = [old_lead, details.lead_id]
    if staff_changes:
        if removed:
            session.execute(group_staff.delete().where(
                group_staff.c.group_id == group.id, group_staff.c.staff_id.in_(removed)))
        for sid in set(after) & set(before):
            if after[sid] != before[sid]:
                session.execute(group_staff.update().where(
                    group_staff.c.group_id == group.id, group_staff.c.staff_id == sid,
                ).values(is_lead=after[sid]))
        if added:
            session.execute(group_staff.insert(), [
                {"group_id": group.id, "staff_id": sid, "is_lead": after[sid]} for sid in added
            ])
        record_change(session, actor, "group", group.id, "changed staff", staff_changes)
    session.flush()
    return bool(changes or staff_changes)


def set_archived(session: Session, actor: StaffUser, group: Group, archived: bool) -> bool:
    """Archive or unarchive `group`; return False when it already was."""
    if group.archived == archived:
        return False
    group.archived = archived
    record_change(session, actor, "group", group.id, "archived" if archived else "unarchived", {})
    return True


# ----- pupils ------------------------------------------------------------------------


def group_school_ids(session: Session, group: Group) -> list[int]:
    """Return the schools whose pupils may join `group` (the owner school, or the partnership's)."""
    return owner_school_ids(session, owner_of(group))


def candidate_pupils(session: Session, scope: Scope, group: Group) -> Select:
    """Return a select of the pupils `scope` may add to `group` (not archived)."""
    return scope.pupils().where(Pupil.school_id.in_(group_school_ids(session, group)))


def addable_schools(session: Session, scope: Scope, group: Group) -> list[School]:
    """Return the schools `scope` may add pupils from."""
    return list(session.scalars(scope.schools().where(School.id.in_(group_school_ids(session, group)))))


def class_options(session: Session, scope: Scope, group: Group) -> tuple[list[int], list[str]]:
    """Return the year groups and registration groups among the pupils that may be added."""
    candidates = candidate_pupils(session, scope, group).subquery()
    years = session.scalars(select(candidates.c.year_group).distinct().order_by(candidates.c.year_group))
    regs = session.scalars(
        select(candidates.c.reg_group).distinct().where(candidates.c.reg_group.is_not(None))
        .order_by(candidates.c.reg_group)
    )
    return list(years), list(regs)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class SearchResult:
    pupils: list[Pupil]
    member_ids: set[int]
    more: bool  # more pupils matched than are shown


def search_pupils(session: Session, scope: Scope, group: Group, text: str = "",
                  school_id: int | None = None, year_group: int | None = None) -> SearchResult:
    """Return up to SEARCH_LIMIT pupils `scope` may add whose name or UPN holds every word of `text`."""
    stmt = candidate_pupils(session, scope, group)
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
        stmt.options(selectinload(Pupil.school))
        .order_by(Pupil.surname, Pupil.first_name, Pupil.id).limit(SEARCH_LIMIT + 1)
    ))
    ids = [p.id for p in rows[:SEARCH_LIMIT]]
    members = set(session.scalars(select(group_members.c.pupil_id).where(
        group_members.c.group_id == group.id, group_members.c.pupil_id.in_(ids)))) if ids else set()
    return SearchResult(rows[:SEARCH_LIMIT], members, len(rows) > SEARCH_LIMIT)


def class_pupil_ids(session: Session, scope: Scope, group: Group, school_id: int,
                    year_group: int | None, reg_group: str | None) -> list[int]:
    """Return the ids of the pupils of a year group and/or registration group of one school.

    Refuses (GroupError) when neither is given, or when no pupil matches.
    """
    reg_group = (reg_group or "").strip()
    if year_group is None and not reg_group:
        raise GroupError("Choose a year group, a registration group, or both.", "year_group")
    stmt = candidate_pupils(session, scope, group).where(Pupil.school_id == school_id)
    if year_group is not None:
        stmt = stmt.where(Pupil.year_group == year_group)
    if reg_group:
        stmt = stmt.where(func.upper(Pupil.reg_group) == reg_group.upper())
    ids = list(session.scalars(stmt.with_only_columns(Pupil.id).order_by(Pupil.id)))
    if not ids:
        raise GroupError("No pupils match that year group and registration group at that school.",
                         "reg_group" if reg_group else "year_group")
    return ids


def _insert_members(session: Session, rows: list[dict[str, int]]) -> None:
    # ON CONFLICT DO NOTHING: a pupil added twice at the same moment is in the group once.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(group_members).on_conflict_do_nothing(), rows)


@dataclass(frozen=True)
class AddResult:
    added: int
    already: int
    codes: int


def add_pupils(session: Session, actor: StaffUser, scope: Scope, group: Group, pupil_ids: list[int],
               now: datetime, how: dict[str, Any] | None = None) -> AddResult:
    """Add pupils to `group`, give them codes for its rounds not yet closed, and record it.

    Pupils already in the group are left as they are. Refuses with NotFound (nothing
    written) when any id is not a pupil `scope` may add; GroupError for an archived group,
    no pupils or too many at once.
    """
    wanted = list(dict.fromkeys(pupil_ids))
    if group.archived:
        raise GroupError("This group is archived. Unarchive it before adding pupils.")
    if not wanted:
        raise GroupError("Tick at least one pupil to add.", "pupil_ids")
    if len(wanted) > MAX_PUPILS_PER_CHANGE:
        raise GroupError(f"Add at most {MAX_PUPILS_PER_CHANGE} pupils at once.", "pupil_ids")
    found = set(session.scalars(
        candidate_pupils(session, scope, group).with_only_columns(Pupil.id).where(Pupil.id.in_(wanted))
    ))
    if found != set(wanted):
        raise NotFound()
    members = set(session.scalars(select(group_members.c.pupil_id).where(
        group_members.c.group_id == group.id, group_members.c.pupil_id.in_(wanted))))
    new = [pid for pid in wanted if pid not in members]
    codes = 0
    if new:
        _insert_members(session, [{"group_id": group.id, "pupil_id": pid} for pid in new])
        codes = issue_codes_for_group(session, group.id, now)
        changes: dict[str, Any] = {"pupil_ids": new, "count": len(new), "codes_issued": codes}
        if how:
            changes["by"] = how
        record_change(session, actor, "group", group.id, "added pupils", changes)
    return AddResult(added=len(new), already=len(wanted) - len(new), codes=codes)


def remove_pupils(session: Session, actor: StaffUser, scope: Scope, group: Group,
                  pupil_ids: list[int]) -> int:
    """Take pupils out of `group` and record it; return how many.

    Their answers and codes stay. Refuses with NotFound (nothing written) when any id is
    not a member `scope` may see; GroupError for an archived group or no pupils.
    """
    wanted = list(dict.fromkeys(pupil_ids))
    if group.archived:
        raise GroupError("This group is archived. Unarchive it before removing pupils.")
    if not wanted:
        raise GroupError("Tick at least one pupil to remove.", "pupil_ids")
    if len(wanted) > MAX_PUPILS_PER_CHANGE:
        raise GroupError(f"Remove at most {MAX_PUPILS_PER_CHANGE} pupils at once.", "pupil_ids")
    found = set(session.scalars(
        scope.pupils(include_archived=True).with_only_columns(Pupil.id)
        .join(group_members, group_members.c.pupil_id == Pupil.id)
        .where(group_members.c.group_id == group.id, Pupil.id.in_(wanted))
    ))
    if found != set(wanted):
        raise NotFound()
    session.execute(group_members.delete().where(
        group_members.c.group_id == group.id, group_members.c.pupil_id.in_(wanted)))
    record_change(session, actor, "group", group.id, "removed pupils",
                  {"pupil_ids": wanted, "count": len(wanted)})
    return len(wanted)
