"""The reads of the reviews area that its pages, PDFs and other pages share."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ..models import School, StaffUser, SurveyRound
from ..models.reviews import RoundReviewSettings, Target


def sharing_of(session: Session, survey_round: SurveyRound) -> RoundReviewSettings:
    """Return the round's settings for pupils and families (all off when never set)."""
    settings = session.get(RoundReviewSettings, survey_round.id)
    return settings or RoundReviewSettings(round_id=survey_round.id, show_results=False, pupil_voice=False)


def round_staff(session: Session, survey_round: SurveyRound) -> list[StaffUser]:
    """Return the active staff of the school or partnership that owns the round (who may be
    named its designated safeguarding lead)."""
    conditions = []
    if survey_round.school_id is not None:
        conditions.append(StaffUser.school_id == survey_round.school_id)
    if survey_round.partnership_id is not None:
        conditions.append(StaffUser.partnership_id == survey_round.partnership_id)
        conditions.append(StaffUser.school_id.in_(
            select(School.id).where(School.partnership_id == survey_round.partnership_id)))
    if not conditions:
        return []
    return list(session.scalars(select(StaffUser).where(or_(*conditions), StaffUser.active.is_(True))
                                .order_by(StaffUser.name)))


def targets_of(session: Session, pupil_id: int) -> list[Target]:
    """Return a pupil's targets with their steps: open ones first (by review date), then
    the reviewed ones, newest first."""
    targets = session.scalars(select(Target).where(Target.pupil_id == pupil_id)
                              .options(selectinload(Target.steps))
                              .order_by(Target.review_on, Target.id)).all()
    open_ = [t for t in targets if t.outcome is None]
    done = sorted((t for t in targets if t.outcome is not None), key=lambda t: (t.reviewed_on, t.id), reverse=True)
    return open_ + done


def group_pupils(session: Session, group, scope) -> list:
    """Return the pupils of `group` the staff member may see one by one (not archived), by
    surname; `scope` None (the command line) sees them all."""
    from ..models import Pupil, group_members

    stmt = (select(Pupil).join(group_members, group_members.c.pupil_id == Pupil.id)
            .where(group_members.c.group_id == group.id, Pupil.archived.is_(False))
            .order_by(Pupil.surname, Pupil.first_name, Pupil.id))
    if scope is not None:
        stmt = stmt.where(scope.pupil_condition())
    return list(session.scalars(stmt))
