"""Rescoring, long work of this area: done by the job queue's worker (`rescore --queue`)
or in place by the `rescore` command, with the same function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..jobs import JobContext, JobRefused, task
from ..models import Response, StaffUser, SurveyRound
from ..models.base import utcnow
from ..pupil.answers import AnswerRefused, store_scores
from .paper_import import ImportFileError, check_answers_csv, check_digest, import_answer_rows
from .statistics import compute_round_stats

RESCORE = "rounds.rescore"
IMPORT_ANSWERS = "rounds.import_answers"
CHANGED = ("Some pupils' answers changed after you looked at the preview, so nothing was imported. "
           "Upload the file again and check the new preview.")


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


@task(IMPORT_ANSWERS, max_attempts=3, label="Paper answers import")
def import_answers_job(context: JobContext, round_id: int, filename: str, digest: str) -> dict:
    """Import the job's paper-answers CSV into the round as the confirmed preview (`digest`)
    said; return the counts and the link to the round's completion. Refuses (JobRefused)
    when the asker may no longer see the round or the preview has changed."""
    session, progress = context.session, context.progress
    staff = session.get(StaffUser, context.job.staff_id)
    if staff is None or not staff.active:
        raise JobRefused("The account that started this import is no longer active, so nothing was imported.")
    scope = Scope(staff)
    survey_round = session.scalar(select(SurveyRound).where(SurveyRound.id == round_id, scope.round_condition()))
    if survey_round is None or context.upload is None:
        raise JobRefused("This round can no longer be imported into from this account.")
    progress(0.1, "Checking the file")
    try:
        check = check_answers_csv(session, survey_round, context.upload.decode("utf-8"), scope, utcnow(),
                                  int(current_app.config.get("PAPER_IMPORT_MAX_ROWS", 5000)))
    except ImportFileError as exc:
        raise JobRefused(" ".join(exc.errors)) from exc
    if check_digest(check) != digest:
        raise JobRefused(CHANGED)
    # (No progress inside the import: it is one transaction, and reporting progress commits.)
    progress(0.3, f"Importing {len(check.good)} pupils' answers")
    try:
        result = import_answer_rows(session, survey_round, check.good, staff, filename, utcnow())
    except AnswerRefused as refused:
        session.rollback()
        raise JobRefused(refused.message) from refused
    session.commit()
    return {"responses": result.responses, "answers": result.answers, "refused": len(check.bad),
            "link": {"endpoint": "rounds.completion", "args": {"round_id": survey_round.id},
                     "text": "See the round's completion"}}
