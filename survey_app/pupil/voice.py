"""Pupil voice: the optional question at the end of a round, when the round asks it. The
answer is kept for the round's designated safeguarding lead only (never in an export)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Response
from ..models.reviews import PupilComment, RoundReviewSettings
from ..questionnaires import Questionnaire


def voice_question(session: Session, round_id: int, q: Questionnaire) -> str:
    """Return the question to ask at the end of the round, or "" when it asks none (pupil
    voice off, no safeguarding lead named, or no question in the questionnaire)."""
    settings = session.get(RoundReviewSettings, round_id)
    if settings is None or not settings.pupil_voice or settings.safeguarding_lead_id is None:
        return ""
    return q.voice_question


def save_comment(session: Session, response: Response, text: str, now: datetime) -> PupilComment | None:
    """Keep what the pupil wrote (nothing when blank); one per pupil and round. Does not commit."""
    text = (text or "").strip()
    if not text:
        return None
    comment = session.scalar(select(PupilComment).where(
        PupilComment.pupil_id == response.pupil_id, PupilComment.round_id == response.round_id))
    if comment is None:
        comment = PupilComment(pupil_id=response.pupil_id, round_id=response.round_id, text=text, created_at=now)
        session.add(comment)
    else:
        comment.text = text
    session.flush()
    return comment
