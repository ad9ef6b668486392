"""Who has answered a round: not started, in progress (how far), finished.

Counts come from one grouped query per round (answers counted in the database), so a
teacher's live view stays quick while a computer room is saving answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..models import Answer, Group, Pupil, Response, School, SurveyRound, group_members
from ..models.reviews import withdrawn_pupil_ids
from ..questionnaires.store import definition_of


@dataclass(frozen=True)
class PupilProgress:
    pupil_id: int
    name: str
    year_group: int
    school: str
    status: str  # 'not started', 'in progress', 'finished'
    answered: int
    total: int
    last_activity: datetime | None


@dataclass
class GroupProgress:
    group: Group
    pupils: list[PupilProgress] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for p in self.pupils if p.status == status)


@dataclass(frozen=True)
class RoundSummary:
    round: SurveyRound
    total: int
    finished: int
    in_progress: int

    @property
    def not_started(self) -> int:
        return self.total - self.finished - self.in_progress


def _status(finished_at, response_id) -> str:
    if finished_at is not None:
        return "finished"
    return "in progress" if response_id is not None else "not started"


def round_progress(session: Session, scope: Scope, survey_round: SurveyRound) -> list[GroupProgress]:
    """Return, per group of the round that `scope` may see, each pupil's progress."""
    groups = scope.groups_of_round(session, survey_round)
    if not groups:
        return []
    total = len(definition_of(survey_round.questionnaire).statements)
    answered = (
        select(Answer.response_id, func.count(Answer.id).label("n"))
        .join(Response, Response.id == Answer.response_id)
        .where(Response.round_id == survey_round.id)
        .group_by(Answer.response_id)
        .subquery()
    )
    rows = session.execute(
        select(
            group_members.c.group_id, Pupil.id, Pupil.first_name, Pupil.surname, Pupil.year_group,
            School.name, Response.id, Response.finished_at, Response.last_activity_at,
            func.coalesce(answered.c.n, 0),
        )
        .join(Pupil, Pupil.id == group_members.c.pupil_id)
        .join(School, School.id == Pupil.school_id)
        .outerjoin(Response, (Response.pupil_id == Pupil.id) & (Response.round_id == survey_round.id))
        .outerjoin(answered, answered.c.response_id == Response.id)
        .where(group_members.c.group_id.in_([g.id for g in groups]), Pupil.archived.is_(False),
               scope.pupil_condition(), or_(Response.id.is_not(None), Pupil.id.not_in(withdrawn_pupil_ids())))
        .order_by(Pupil.surname, Pupil.first_name)
    ).all()
    by_group = {g.id: GroupProgress(g) for g in groups}
    for gid, pid, first, last, year, school, rid, finished_at, last_seen, n in rows:
        by_group[gid].pupils.append(PupilProgress(
            pid, f"{first} {last}", year, school, _status(finished_at, rid), int(n), total,
            last_seen if rid is not None else None,
        ))
    return list(by_group.values())


def round_summaries(session: Session, scope: Scope, rounds: list[SurveyRound]) -> list[RoundSummary]:
    """Return finished / in progress / total pupils for each round, within `scope`."""
    out = []
    for survey_round in rounds:
        groups = [g.id for g in scope.groups_of_round(session, survey_round)]
        pupil_ids = (
            select(group_members.c.pupil_id)
            .join(Pupil, Pupil.id == group_members.c.pupil_id)
            .where(group_members.c.group_id.in_(groups), Pupil.archived.is_(False),
                   scope.pupil_condition(), or_(
                       Pupil.id.not_in(withdrawn_pupil_ids()),
                       Pupil.id.in_(select(Response.pupil_id).where(Response.round_id == survey_round.id))))
            .distinct()
        )
        total = session.scalar(select(func.count()).select_from(pupil_ids.subquery())) or 0
        finished, started = session.execute(
            select(
                func.count(Response.finished_at),
                func.count(Response.id),
            ).where(Response.round_id == survey_round.id, Response.pupil_id.in_(pupil_ids))
        ).one()
        out.append(RoundSummary(survey_round, total, finished or 0, (started or 0) - (finished or 0)))
    return out
