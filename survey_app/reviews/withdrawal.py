"""A family's withdrawal of their child from the survey: the pupil gets no new code, is
left out of later rounds (codes of rounds not yet closed go, with any unfinished answers),
and the school chooses whether earlier answers are kept or erased. One audit record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import (
    AccessCode,
    Answer,
    FactorScore,
    Pupil,
    Response,
    ResponseScores,
    RoundFactorStats,
    StaffUser,
    SurveyRound,
)
from ..models.reviews import WITHDRAWAL_ANSWERS, Withdrawal
from .operations import ReviewError


def withdrawal_of(session: Session, pupil_id: int) -> Withdrawal | None:
    """Return the pupil's withdrawal, or None while they take part."""
    return session.scalar(select(Withdrawal).where(Withdrawal.pupil_id == pupil_id))


def _drop_responses(session: Session, response_ids: list[int]) -> int:
    if not response_ids:
        return 0
    round_ids = list(session.scalars(select(Response.round_id).where(Response.id.in_(response_ids)).distinct()))
    session.execute(delete(Answer).where(Answer.response_id.in_(response_ids)))
    session.execute(delete(FactorScore).where(FactorScore.response_id.in_(response_ids)))
    session.execute(delete(ResponseScores).where(ResponseScores.response_id.in_(response_ids)))
    gone = session.execute(delete(Response).where(Response.id.in_(response_ids))).rowcount or 0
    # Cached statistics of those rounds are recomputed without the pupil.
    session.execute(delete(RoundFactorStats).where(RoundFactorStats.round_id.in_(round_ids)))
    return gone


def withdraw_pupil(session: Session, staff: StaffUser, pupil: Pupil, *, answers: str, note: str,
                   now: datetime) -> dict[str, int]:
    """Record the withdrawal and apply it; return how many codes and responses went.

    Refuses (ReviewError) a pupil already withdrawn or a choice other than 'kept' or
    'erased'. Does not commit.
    """
    if answers not in WITHDRAWAL_ANSWERS:
        raise ReviewError("Choose whether the answers already given are kept or erased.")
    if withdrawal_of(session, pupil.id) is not None:
        raise ReviewError("This pupil has already been withdrawn.")
    not_closed = select(SurveyRound.id).where(SurveyRound.closes_at > now)
    unfinished = list(session.scalars(select(Response.id).where(
        Response.pupil_id == pupil.id, Response.finished_at.is_(None), Response.round_id.in_(not_closed))))
    finished = list(session.scalars(select(Response.id).where(
        Response.pupil_id == pupil.id, Response.finished_at.is_not(None))))
    counts = {"unfinished_responses": _drop_responses(session, unfinished)}
    counts["codes"] = session.execute(delete(AccessCode).where(
        AccessCode.pupil_id == pupil.id, AccessCode.round_id.in_(not_closed))).rowcount or 0
    counts["erased_responses"] = _drop_responses(session, finished) if answers == "erased" else 0
    session.add(Withdrawal(pupil_id=pupil.id, answers=answers, note=note.strip() or None,
                           recorded_by_id=staff.id, recorded_at=now))
    session.flush()
    record_change(session, staff, "pupil", pupil.id, "withdrawn from the survey", {"answers": answers, **counts})
    return counts
