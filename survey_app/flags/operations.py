"""Custom pupil flags ("mentored", "gifted and talented"): defining them and setting them.

A flag belongs to a school or to a partnership, and may be set on pupils of that school or
of the partnership's schools. Who may see, change and set which flags is decided by the
Scope (scope.py); these functions take the acting staff member and their Scope, never the
request. Every change adds change-log entries in the same transaction: one on the flag
(entity "flag") and one per pupil whose flags changed (entity "pupil", {"flags": [old,
new]} as the pupil's flag names), so the route's commit keeps both or neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import NotFound

from ..accounts.scope import Scope
from ..audit.changes import record_change
from ..groups.operations import Owner, owner_options, owner_school_ids
from ..models import ChangeLog, Pupil, PupilFlag, School, StaffUser, pupil_flag_members
from ..models.base import utcnow

NAME_MAX = 60
DESCRIPTION_MAX = 500
MAX_PUPILS_PER_CHANGE = 2000
SEPARATOR = ";"  # between flag names in a roster file's `flags` column


class FlagError(ValueError):
    """A refused flag change; the message is safe to show, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# ----- owners and seeing flags ------------------------------------------------------------


def owner_of(flag: PupilFlag) -> Owner:
    """Return the school or partnership `flag` belongs to."""
    if flag.partnership_id is not None:
        return Owner("partnership", flag.partnership_id, flag.partnership.name)
    return Owner("school", flag.school_id, flag.school.name)


def flag_owner_options(session: Session, scope: Scope) -> list[Owner]:
    """Return the owners `scope` may give a new flag ([] for teachers)."""
    return owner_options(session, scope) if scope.can_manage else []


def flags_in_scope(session: Session, scope: Scope) -> list[PupilFlag]:
    """Return the flags `scope` may see, by name (teachers included: to show, not to set)."""
    return list(session.scalars(
        scope.flags().options(selectinload(PupilFlag.school), selectinload(PupilFlag.partnership))))


def visible_flags_of(session: Session, scope: Scope, pupil: Pupil) -> list[PupilFlag]:
    """Return the pupil's flags that `scope` may see, by name."""
    return list(session.scalars(
        scope.flags().join(pupil_flag_members, pupil_flag_members.c.flag_id == PupilFlag.id)
        .where(pupil_flag_members.c.pupil_id == pupil.id)))


def settable_flags(session: Session, scope: Scope, pupil: Pupil) -> list[PupilFlag]:
    """Return the flags `scope` may set on `pupil` (its school's and its partnership's), by name.

    Empty for teachers, and for a pupil outside the scope.
    """
    in_scope = session.scalar(select(Pupil.id).where(Pupil.id == pupil.id, scope.pupil_condition()))
    if in_scope is None:
        return []
    return list(session.scalars(scope.flags().where(scope.settable_flag_condition(pupil.school_id))))


def flags_settable_at_school(session: Session, scope: Scope | None, school: School) -> list[PupilFlag]:
    """Return the flags that may be set on pupils of `school`, by name.

    With a scope, only those it may set; None (the command line) gives every flag of the
    school and of its partnership.
    """
    if scope is not None:
        return list(session.scalars(scope.flags().where(scope.settable_flag_condition(school.id))))
    owner = PupilFlag.school_id == school.id
    if school.partnership_id is not None:
        owner = or_(owner, PupilFlag.partnership_id == school.partnership_id)
    return list(session.scalars(select(PupilFlag).where(owner).order_by(func.lower(PupilFlag.name))))


def names_list(flags: Iterable[PupilFlag]) -> str:
    """Return flag names for a message: "Mentored, Young carer" (or "none")."""
    names = sorted((f.name for f in flags), key=str.lower)
    return ", ".join(names) if names else "none"


# ----- creating, renaming, deleting ------------------------------------------------------


def clean_name(name: str | None) -> str:
    return " ".join((name or "").split())


def _clash_condition(session: Session, owner: Owner):
    """Flags whose pupils overlap the owner's: a name must be unique among them."""
    if owner.kind == "school":
        partnership_id = session.scalar(select(School.partnership_id).where(School.id == owner.id))
        condition = PupilFlag.school_id == owner.id
        if partnership_id is not None:
            condition = or_(condition, PupilFlag.partnership_id == partnership_id)
        return condition
    return or_(PupilFlag.partnership_id == owner.id,
               PupilFlag.school_id.in_(owner_school_ids(session, owner)))


def _check(session: Session, name: str, description: str, owner: Owner, flag: PupilFlag | None) -> None:
    if not name:
        raise FlagError("Give the flag a name.", "name")
    if len(name) > NAME_MAX:
        raise FlagError(f"Use at most {NAME_MAX} characters for the name.", "name")
    if SEPARATOR in name:
        raise FlagError("A flag's name cannot contain a semicolon (;): roster files use semicolons "
                        "to separate flags.", "name")
    if len(description) > DESCRIPTION_MAX:
        raise FlagError(f"Use at most {DESCRIPTION_MAX} characters for the description.", "description")
    same = select(PupilFlag).where(func.lower(PupilFlag.name) == name.lower(),
                                   _clash_condition(session, owner))
    if flag is not None:
        same = same.where(PupilFlag.id != flag.id)
    other = session.scalars(same.limit(1)).first()
    if other is not None:
        where = owner_of(other)
        if where == owner:
            raise FlagError(f"There is already a flag called “{other.name}” at {owner.label}. "
                            "Choose another name.", "name")
        raise FlagError(f"{where.label} already has a flag called “{other.name}” that can be set on the "
                        "same pupils. Choose another name, so the two cannot be mixed up.", "name")


def create_flag(session: Session, staff: StaffUser, scope: Scope, name: str, description: str,
                owner_key: str) -> PupilFlag:
    """Return a new flag (flushed, not committed).

    Refuses (FlagError) a teacher, an owner the user may not choose, an empty, long or
    duplicate name (unique, ignoring case, among flags that can be set on the same pupils).
    """
    if not scope.can_manage:
        raise FlagError("Only leads and administrators can create flags.")
    owners = {o.key: o for o in flag_owner_options(session, scope)}
    owner = owners.get(owner_key or "")
    if owner is None:
        raise FlagError("Choose your partnership or one of your schools.", "owner")
    name, description = clean_name(name), (description or "").strip()
    _check(session, name, description, owner, None)
    flag = PupilFlag(name=name, description=description or None, created_by_id=staff.id,
                     school_id=owner.id if owner.kind == "school" else None,
                     partnership_id=owner.id if owner.kind == "partnership" else None)
    session.add(flag)
    session.flush()
    record_change(session, staff, "flag", flag.id, "created", {
        "name": [None, name], "description": [None, description or None], "owner": owner.label})
    return flag


def update_flag(session: Session, staff: StaffUser, scope: Scope, flag: PupilFlag, name: str,
                description: str) -> dict[str, list[Any]]:
    """Rename or describe `flag`; return {field: [old, new]} (empty when nothing changed).

    Refuses (FlagError) a user who may not manage it, or a bad or duplicate name.
    """
    if not scope.can_manage_flag(session, flag):
        raise FlagError("Only the leads of the flag's school or partnership can change it.")
    name, description = clean_name(name), (description or "").strip()
    _check(session, name, description, owner_of(flag), flag)
    changes = {}
    for field, value in (("name", name), ("description", description or None)):
        if getattr(flag, field) != value:
            changes[field] = [getattr(flag, field), value]
            setattr(flag, field, value)
    if changes:
        record_change(session, staff, "flag", flag.id, "edited", changes)
        session.flush()
    return changes


def delete_flag(session: Session, staff: StaffUser, scope: Scope, flag: PupilFlag) -> int:
    """Delete `flag` and take it off every pupil; return how many pupils had it.

    Each of those pupils' histories records the change. Refuses (FlagError) a user who may
    not manage the flag.
    """
    if not scope.can_manage_flag(session, flag):
        raise FlagError("Only the leads of the flag's school or partnership can delete it.")
    pupil_ids = list(session.scalars(
        select(pupil_flag_members.c.pupil_id).where(pupil_flag_members.c.flag_id == flag.id)))
    before = flag_names_of(session, pupil_ids)
    session.execute(delete(pupil_flag_members).where(pupil_flag_members.c.flag_id == flag.id))
    _record_pupil_changes(session, staff, before, flag_names_of(session, pupil_ids), "flags changed")
    record_change(session, staff, "flag", flag.id, "deleted", {
        "name": flag.name, "owner": owner_of(flag).label, "pupils": len(pupil_ids)})
    session.delete(flag)
    session.flush()
    return len(pupil_ids)


# ----- setting flags on pupils -----------------------------------------------------------


def flag_names_of(session: Session, pupil_ids: Iterable[int]) -> dict[int, list[str]]:
    """Return {pupil id: names of all their flags, sorted} (pupils without flags: [])."""
    ids = list(dict.fromkeys(pupil_ids))
    names: dict[int, list[str]] = {pid: [] for pid in ids}
    for start in range(0, len(ids), 500):
        for pid, name in session.execute(
            select(pupil_flag_members.c.pupil_id, PupilFlag.name)
            .join(PupilFlag, PupilFlag.id == pupil_flag_members.c.flag_id)
            .where(pupil_flag_members.c.pupil_id.in_(ids[start:start + 500]))
        ):
            names[pid].append(name)
    return {pid: sorted(n, key=str.lower) for pid, n in names.items()}


def describe(names: list[str]) -> str | None:
    """Return flag names as a pupil's history shows them ("Mentored, Young carer"), or None."""
    return ", ".join(names) or None


def pupil_flag_entries(staff_id: int | None, before: dict[int, list[str]], after: dict[int, list[str]],
                       action: str) -> list[dict[str, Any]]:
    """Return change-log rows for the pupils whose flag names differ (for a bulk INSERT)."""
    now = utcnow()
    return [{"at": now, "staff_id": staff_id, "entity": "pupil", "entity_id": pid, "action": action,
             "changes": {"flags": [describe(before[pid]), describe(after.get(pid, []))]}}
            for pid in before if before[pid] != after.get(pid, [])]


def _record_pupil_changes(session: Session, staff: StaffUser | None, before: dict[int, list[str]],
                          after: dict[int, list[str]], action: str) -> None:
    rows = pupil_flag_entries(staff.id if staff else None, before, after, action)
    if rows:
        session.execute(insert(ChangeLog), rows)


def insert_members(session: Session, rows: list[dict[str, int]]) -> None:
    """Add (flag_id, pupil_id) rows; a row already there is left as it is."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert_into(pupil_flag_members).on_conflict_do_nothing(), rows)


def _wanted(pupil_ids: list[int], verb: str) -> list[int]:
    wanted = list(dict.fromkeys(pupil_ids))
    if not wanted:
        raise FlagError(f"Tick at least one pupil to {verb}.", "pupil_ids")
    if len(wanted) > MAX_PUPILS_PER_CHANGE:
        raise FlagError(f"Choose at most {MAX_PUPILS_PER_CHANGE} pupils at once.", "pupil_ids")
    return wanted


@dataclass(frozen=True)
class AddResult:
    added: int
    already: int


def add_pupils(session: Session, staff: StaffUser, scope: Scope, flag: PupilFlag,
               pupil_ids: list[int]) -> AddResult:
    """Set `flag` on the pupils; those who already have it are left as they are.

    Refuses with NotFound (nothing written) when any id is not a pupil `scope` may set
    the flag on (outside the scope, or not at the flag's school or partnership);
    FlagError for no pupils or too many at once.
    """
    wanted = _wanted(pupil_ids, "add")
    found = set(session.scalars(select(Pupil.id).where(
        Pupil.id.in_(wanted), scope.flag_pupil_condition(flag))))
    if found != set(wanted):
        raise NotFound()
    have = set(session.scalars(select(pupil_flag_members.c.pupil_id).where(
        pupil_flag_members.c.flag_id == flag.id, pupil_flag_members.c.pupil_id.in_(wanted))))
    new = [pid for pid in wanted if pid not in have]
    if new:
        before = flag_names_of(session, new)
        insert_members(session, [{"flag_id": flag.id, "pupil_id": pid} for pid in new])
        _record_pupil_changes(session, staff, before, flag_names_of(session, new), "flags changed")
        record_change(session, staff, "flag", flag.id, "added pupils", {"pupil_ids": new, "count": len(new)})
    return AddResult(added=len(new), already=len(wanted) - len(new))


def remove_pupils(session: Session, staff: StaffUser, scope: Scope, flag: PupilFlag,
                  pupil_ids: list[int]) -> int:
    """Take `flag` off the pupils; return how many had it.

    Refuses with NotFound (nothing written) when any id is not a pupil with the flag
    that `scope` may see, or the user may not set flags; FlagError for no pupils.
    """
    wanted = _wanted(pupil_ids, "remove")
    if not scope.can_manage:
        raise NotFound()
    found = set(session.scalars(
        select(Pupil.id).join(pupil_flag_members, pupil_flag_members.c.pupil_id == Pupil.id)
        .where(Pupil.id.in_(wanted), pupil_flag_members.c.flag_id == flag.id, scope.pupil_condition())))
    if found != set(wanted):
        raise NotFound()
    before = flag_names_of(session, wanted)
    session.execute(delete(pupil_flag_members).where(
        pupil_flag_members.c.flag_id == flag.id, pupil_flag_members.c.pupil_id.in_(wanted)))
    _record_pupil_changes(session, staff, before, flag_names_of(session, wanted), "flags changed")
    record_change(session, staff, "flag", flag.id, "removed pupils", {"pupil_ids": wanted, "count": len(wanted)})
    session.expire_all()
    return len(wanted)


def set_flags(session: Session, staff: StaffUser, pupil: Pupil, flag_ids: Iterable[int]) -> dict[str, list]:
    """Give `pupil` exactly the flags `flag_ids` among those `staff` may set on them.

    Flags the staff member may not set (another school's, or ones they cannot see) are
    left as they are. Returns {"flags": [old names, new names]}, empty when nothing
    changed. Refuses with NotFound a pupil outside the staff member's scope, and with
    FlagError an id that is not a flag they may set on this pupil. Does not commit.
    """
    scope = Scope(staff)
    if session.scalar(select(Pupil.id).where(Pupil.id == pupil.id, scope.pupil_condition())) is None:
        raise NotFound()
    allowed = {f.id: f for f in settable_flags(session, scope, pupil)}
    wanted = set(flag_ids)
    if wanted - set(allowed):
        raise FlagError(f"Choose from the flags that can be set on this pupil: {names_list(allowed.values())}.",
                        "flag_ids")
    current = set(session.scalars(select(pupil_flag_members.c.flag_id).where(
        pupil_flag_members.c.pupil_id == pupil.id, pupil_flag_members.c.flag_id.in_(list(allowed)))))
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if not added and not removed:
        return {}
    before = flag_names_of(session, [pupil.id])
    if removed:
        session.execute(delete(pupil_flag_members).where(
            pupil_flag_members.c.pupil_id == pupil.id, pupil_flag_members.c.flag_id.in_(removed)))
    insert_members(session, [{"flag_id": fid, "pupil_id": pupil.id} for fid in added])
    after = flag_names_of(session, [pupil.id])
    changes = {"flags": [describe(before[pupil.id]), describe(after[pupil.id])]}
    record_change(session, staff, "pupil", pupil.id, "flags changed", changes)
    for fid in added:
        record_change(session, staff, "flag", fid, "added pupils", {"pupil_ids": [pupil.id], "count": 1})
    for fid in removed:
        record_change(session, staff, "flag", fid, "removed pupils", {"pupil_ids": [pupil.id], "count": 1})
    session.expire(pupil, ["flags"])
    return changes
