"""Rescoring, long work of this area: done by the job queue's worker (`rescore --queue`)
or in place by the `rescore` command, with the same function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..jobs import JobContext, task
from ..models import Response, SurveyRound
from ..models.base import utcnow
from ..pupil.answers import store_scores
from .statistics import compute_round_stats

RESCORE = "rounds.rescore"


def rescore_rounds(session: Session, rounds: list[SurveyRound], now: datetime,
                   progress: Callable[[int, SurveyRound, int], None] | None = None) -> int:
    """Recompute the stored factor scores of each round's finished responses and the
    round's statistics, committing after each round; return how many responses.
    `progress(done_rounds, round, responses)` is called after each round."""
    total = 0
    for done, survey_round in enumerate(rounds, start=1):
        responses = session.scalars(
            select(Response).where(Response.round_id == survey_round.id, Response.finished_at.is_not(None))
        ).all()
        for response in responses:
            store_scores(session, response, now)
        compute_round_stats(session, survey_round, now)
        session.commit()
        total += len(responses)
        if progress is not None:
            progress(done, survey_round, len(responses))
    return total


@task(RESCORE, max_attempts=3, label="Rescoring")
def rescore_job(context: JobContext, round_ids: list[int] | None = None) -> dict:
    """Rescore the given rounds (every round when None); return the counts. Running it
    again after an interruption redoes the rounds, which gives the same scores."""
    statement = select(SurveyRound).order_by(SurveyRound.id)
    if round_ids is not None:
        statement = statement.where(SurveyRound.id.in_(round_ids))
    rounds = context.session.scalars(statement).all()

    def step(done: int, survey_round: SurveyRound, n: int) -> None:
        context.progress(done / max(1, len(rounds)), f"{survey_round.name}: {n} finished responses rescored")

    total = rescore_rounds(context.session, list(rounds), utcnow(), step)
    return {"rounds": len(rounds), "responses": total}
