"""Reads of interventions: which a staff member may see, the due-for-review list, a
pupil's interventions (for the learning profile), the staff who may own one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import NotFound

from ..accounts.scope import Scope
from ..models import Intervention, Pupil, School, StaffUser
from ..models.tracking import intervention_members

OPEN = ("planned", "active")


def intervention_condition(scope: Scope) -> ColumnElement[bool]:
    """Condition on Intervention rows `scope` may see: admins all; leads those at their
    schools; teachers those they own or that include a pupil of their groups."""
    if scope.is_admin:
        return true()
    at_schools = Intervention.school_id.in_(select(School.id).where(scope.school_condition()))
    if scope.can_manage:
        return at_schools
    mine = exists(select(intervention_members.c.pupil_id).join(Pupil, Pupil.id == intervention_members.c.pupil_id)
                  .where(intervention_members.c.intervention_id == Intervention.id, scope.pupil_condition()))
    return at_schools & or_(Intervention.owner_id == scope.user.id, mine)


def intervention_or_404(session: Session, scope: Scope, ident) -> Intervention:
    """Return the intervention if `scope` may see it, else 404 (never 403: no hint it exists)."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        raise NotFound() from None
    found = session.scalar(select(Intervention).where(Intervention.id == ident, intervention_condition(scope))
                           .options(joinedload(Intervention.owner), joinedload(Intervention.school)))
    if found is None:
        raise NotFound()
    return found


def visible_members(session: Session, scope: Scope, intervention: Intervention) -> tuple[list[Pupil], int]:
    """Return (the members `scope` may see one by one, how many members there are in all)."""
    ids = select(intervention_members.c.pupil_id).where(intervention_members.c.intervention_id == intervention.id)
    pupils = list(session.scalars(select(Pupil).where(Pupil.id.in_(ids), scope.pupil_condition())
                                  .order_by(Pupil.surname, Pupil.first_name)))
    total = len(session.execute(ids).all())
    return pupils, total


def list_interventions(session: Session, scope: Scope, owner_id: int | None = None, due_by: date | None = None,
                       open_only: bool = True) -> list[Intervention]:
    """Return the interventions `scope` may see, by review date: only `owner_id`'s, only those
    whose review falls on or before `due_by`, only open ones (planned or active)."""
    stmt = select(Intervention).where(intervention_condition(scope)).options(
        joinedload(Intervention.owner), joinedload(Intervention.school))
    if owner_id is not None:
        stmt = stmt.where(Intervention.owner_id == owner_id)
    if due_by is not None:
        stmt = stmt.where(Intervention.review_on <= due_by)
    if open_only:
        stmt = stmt.where(Intervention.status.in_(OPEN))
    return list(session.scalars(stmt.order_by(Intervention.review_on, Intervention.id)))


def owner_choices(session: Session, school: School) -> list[StaffUser]:
    """Return the active staff who may own an intervention at `school`: its own staff and its
    partnership's."""
    who = StaffUser.school_id == school.id
    if school.partnership_id is not None:
        who = or_(who, StaffUser.partnership_id == school.partnership_id)
    return list(session.scalars(select(StaffUser).where(who, StaffUser.active.is_(True)).order_by(StaffUser.name)))
