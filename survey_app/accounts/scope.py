"""What a member of staff may see: the one place scope is decided.

`Scope(user)` builds SELECT conditions for schools, pupils, groups and rounds. Views and
services ask it for rows or for one row by id; a row outside the scope is "not found"
(404), never "forbidden", so ids from elsewhere give no hint that they exist.

- admin: everything.
- lead of a partnership: its schools, their pupils, the partnership's and the schools'
  groups, rounds owned by the partnership or its schools.
- lead of a school: that school, its pupils, groups and rounds.
- teacher: only the groups they are attached to, the pupils in them, and the rounds
  that include those groups.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from ..models import (
    Group,
    Partnership,
    Pupil,
    PupilFlag,
    School,
    StaffUser,
    SurveyRound,
    group_members,
    group_staff,
    round_groups,
)


class Scope:
    """Visibility rules for one staff member (pure query building; no request globals)."""

    def __init__(self, user: StaffUser):
        self.user = user

    # ----- roles ---------------------------------------------------------------------

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def can_manage(self) -> bool:
        """True for roles that set things up (schools, pupils, groups, rounds)."""
        return self.user.role in ("admin", "lead")

    # ----- conditions ----------------------------------------------------------------

    def school_condition(self) -> ColumnElement[bool]:
        """Condition on School rows this user may see."""
        u = self.user
        if self.is_admin:
            return true()
        if u.role == "lead":
            if u.partnership_id is not None:
                return School.partnership_id == u.partnership_id
            if u.school_id is not None:
                return School.id == u.school_id
            return false()
        return School.id.in_(
            select(Pupil.school_id).where(Pupil.id.in_(self._teacher_pupil_ids()))
        )

    def _lead_school_ids(self) -> Select:
        return select(School.id).where(self.school_condition())

    def _teacher_group_ids(self) -> Select:
        return select(group_staff.c.group_id).where(group_staff.c.staff_id == self.user.id)

    def _teacher_pupil_ids(self) -> Select:
        return select(group_members.c.pupil_id).where(
            group_members.c.group_id.in_(self._teacher_group_ids())
        )

    def group_condition(self) -> ColumnElement[bool]:
        """Condition on Group rows this user may see."""
        u = self.user
        if self.is_admin:
            return true()
        if u.role == "lead":
            by_school = Group.school_id.in_(self._lead_school_ids())
            if u.partnership_id is not None:
                return or_(Group.partnership_id == u.partnership_id, by_school)
            return by_school
        return Group.id.in_(self._teacher_group_ids())

    def pupil_condition(self) -> ColumnElement[bool]:
        """Condition on Pupil rows this user may see one by one (names, profiles, answers).

        A partnership lead sees a pupil individually only when the pupil's school shares
        that pupil's data with the partnership (Pupil.shared_with_partnership).
        """
        if self.is_admin:
            return true()
        if self.user.role == "lead":
            in_schools = Pupil.school_id.in_(self._lead_school_ids())
            if self.user.partnership_id is not None:
                return and_(in_schools, Pupil.shared_with_partnership.is_(True))
            return in_schools
        return Pupil.id.in_(self._teacher_pupil_ids())

    def aggregate_pupil_condition(self) -> ColumnElement[bool]:
        """Condition on the pupils counted in this user's aggregates (cohort statistics).

        Wider than `pupil_condition` for a partnership lead: pupils whose school does not
        share their data individually still count, but only inside suppressed aggregates.
        """
        if self.user.role == "lead" and self.user.partnership_id is not None:
            return Pupil.school_id.in_(self._lead_school_ids())
        return self.pupil_condition()

    def protected_pupil_condition(self) -> ColumnElement[bool] | None:
        """Condition, among the pupils of `aggregate_pupil_condition`, on those this user may
        not see one by one: the figures that count them are protected (privacy.disclosure).

        None when the two conditions are the same (nobody in this user's aggregates is
        hidden from them), so their figures stay exact without asking the database.
        """
        if self.user.role == "lead" and self.user.partnership_id is not None:
            return Pupil.shared_with_partnership.is_(False)
        return None

    def round_condition(self) -> ColumnElement[bool]:
        """Condition on SurveyRound rows this user may see."""
        u = self.user
        if self.is_admin:
            return true()
        if u.role == "lead":
            owned = SurveyRound.school_id.in_(self._lead_school_ids())
            if u.partnership_id is not None:
                return or_(SurveyRound.partnership_id == u.partnership_id, owned)
            return owned
        return exists(
            select(round_groups.c.round_id).where(
                round_groups.c.round_id == SurveyRound.id,
                round_groups.c.group_id.in_(self._teacher_group_ids()),
            )
        )

    # ----- rows ----------------------------------------------------------------------

    def schools(self) -> Select:
        return select(School).where(self.school_condition()).order_by(School.name)

    def groups(self, include_archived: bool = False) -> Select:
        stmt = select(Group).where(self.group_condition())
        if not include_archived:
            stmt = stmt.where(Group.archived.is_(False))
        return stmt.order_by(Group.name)

    def pupils(self, include_archived: bool = False) -> Select:
        stmt = select(Pupil).where(self.pupil_condition())
        if not include_archived:
            stmt = stmt.where(Pupil.archived.is_(False))
        return stmt

    def rounds(self) -> Select:
        return select(SurveyRound).where(self.round_condition()).order_by(SurveyRound.opens_at.desc())

    def partnership(self, session: Session) -> Partnership | None:
        """Return the partnership a lead works across, if any."""
        if self.user.partnership_id is None:
            return None
        return session.get(Partnership, self.user.partnership_id)

    def _one(self, session: Session, model, condition, ident):
        try:
            ident = int(ident)
        except (TypeError, ValueError):
            raise NotFound() from None
        row = session.scalar(select(model).where(model.id == ident, condition))
        if row is None:
            raise NotFound()
        return row

    def school_or_404(self, session: Session, ident) -> School:
        return self._one(session, School, self.school_condition(), ident)

    def group_or_404(self, session: Session, ident) -> Group:
        return self._one(session, Group, self.group_condition(), ident)

    def pupil_or_404(self, session: Session, ident) -> Pupil:
        return self._one(session, Pupil, self.pupil_condition(), ident)

    def round_or_404(self, session: Session, ident) -> SurveyRound:
        return self._one(session, SurveyRound, self.round_condition(), ident)

    def groups_of_round(self, session: Session, survey_round: SurveyRound) -> list[Group]:
        """Return the round's groups this user may see."""
        return list(
            session.scalars(
                select(Group)
                .join(round_groups, round_groups.c.group_id == Group.id)
                .where(round_groups.c.round_id == survey_round.id, self.group_condition())
                .order_by(Group.name)
            )
        )

    # ----- pupil flags ---------------------------------------------------------------
    # A flag belongs to a school or a partnership and may be set on that school's pupils,
    # or on the pupils of any of the partnership's schools.

    def flag_condition(self) -> ColumnElement[bool]:
        """Condition on PupilFlag rows this user may see.

        Admin: all. Partnership lead: the partnership's flags and its schools'. School
        lead: its school's flags and its partnership's (those it may set on its own pupils
        but not change). Teacher: the flags of the schools of their pupils, and of those
        schools' partnerships (to see, never to manage or set).
        """
        u = self.user
        if self.is_admin:
            return true()
        if u.role == "lead":
            by_school = PupilFlag.school_id.in_(self._lead_school_ids())
            if u.partnership_id is not None:
                return or_(PupilFlag.partnership_id == u.partnership_id, by_school)
            if u.school_id is not None:
                return or_(by_school, PupilFlag.partnership_id.in_(
                    select(School.partnership_id).where(School.id == u.school_id)))
            return false()
        schools = select(Pupil.school_id).where(Pupil.id.in_(self._teacher_pupil_ids()))
        return or_(PupilFlag.school_id.in_(schools), PupilFlag.partnership_id.in_(
            select(School.partnership_id).where(School.id.in_(schools))))

    def flag_manage_condition(self) -> ColumnElement[bool]:
        """Condition on PupilFlag rows this user may rename, describe and delete."""
        u = self.user
        if self.is_admin:
            return true()
        if u.role != "lead":
            return false()
        by_school = PupilFlag.school_id.in_(self._lead_school_ids())
        if u.partnership_id is not None:
            return or_(PupilFlag.partnership_id == u.partnership_id, by_school)
        return by_school

    def flag_pupil_condition(self, flag: PupilFlag) -> ColumnElement[bool]:
        """Condition on Pupil rows this user may set `flag` on: pupils in scope at the
        flag's school or at a school of its partnership. None for teachers."""
        if not self.can_manage:
            return false()
        if flag.school_id is not None:
            owner = Pupil.school_id == flag.school_id
        elif flag.partnership_id is not None:
            owner = Pupil.school_id.in_(select(School.id).where(School.partnership_id == flag.partnership_id))
        else:
            return false()
        return and_(self.pupil_condition(), owner)

    def settable_flag_condition(self, school_id: int) -> ColumnElement[bool]:
        """Condition on PupilFlag rows this user may set on pupils of the school `school_id`
        (its own flags and its partnership's, among those the user sees). None for teachers."""
        if not self.can_manage:
            return false()
        owner = or_(PupilFlag.school_id == school_id, PupilFlag.partnership_id.in_(
            select(School.partnership_id).where(School.id == school_id)))
        return and_(self.flag_condition(), owner)

    def flags(self) -> Select:
        return select(PupilFlag).where(self.flag_condition()).order_by(
            func.lower(PupilFlag.name), PupilFlag.id)

    def flag_or_404(self, session: Session, ident) -> PupilFlag:
        return self._one(session, PupilFlag, self.flag_condition(), ident)

    def can_manage_flag(self, session: Session, flag: PupilFlag) -> bool:
        """Return whether this user may rename, describe and delete `flag`."""
        return session.scalar(
            select(PupilFlag.id).where(PupilFlag.id == flag.id, self.flag_manage_condition())
        ) is not None
