"""Pupil-voice comments for the designated safeguarding lead: only the lead a round names
sees its comments; words from the school's list are highlighted, and a comment that
matches one comes first. Comments appear in no export."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import Pupil, School, StaffUser, SurveyRound
from ..models.reviews import PupilComment, RoundReviewSettings, SafeguardingWord
from .operations import ReviewError

MAX_WORDS = 300


@dataclass(frozen=True)
class ShownComment:
    comment: PupilComment
    pupil: Pupil
    round: SurveyRound
    parts: list[tuple[str, bool]]  # the text in pieces, True where a listed word matched
    matched: list[str]


def words_of(session: Session, school_id: int) -> list[str]:
    """Return the school's safeguarding words, in alphabetical order."""
    return list(session.scalars(select(SafeguardingWord.word).where(SafeguardingWord.school_id == school_id)
                                .order_by(SafeguardingWord.word)))


def highlight(text: str, words: list[str]) -> tuple[list[tuple[str, bool]], list[str]]:
    """Return `text` in pieces, each marked True where one of `words` (or phrases) matches
    as a whole word, ignoring case; and the words that matched."""
    words = [w for w in words if w.strip()]
    if not words:
        return [(text, False)], []
    pattern = re.compile(r"\b(" + "|".join(re.escape(w.strip()) for w in sorted(words, key=len, reverse=True))
                         + r")\b", re.IGNORECASE)
    parts, matched, at = [], [], 0
    for m in pattern.finditer(text):
        if m.start() > at:
            parts.append((text[at:m.start()], False))
        parts.append((m.group(0), True))
        matched.append(m.group(0).lower())
        at = m.end()
    if at < len(text):
        parts.append((text[at:], False))
    return parts, sorted(set(matched))


def comments_for_lead(session: Session, lead: StaffUser) -> list[ShownComment]:
    """Return every comment of the rounds that name `lead` as their safeguarding lead,
    those matching a listed word first, then newest first."""
    rows = session.execute(
        select(PupilComment, Pupil, SurveyRound)
        .join(Pupil, Pupil.id == PupilComment.pupil_id)
        .join(SurveyRound, SurveyRound.id == PupilComment.round_id)
        .join(RoundReviewSettings, RoundReviewSettings.round_id == PupilComment.round_id)
        .where(RoundReviewSettings.safeguarding_lead_id == lead.id)
        .order_by(PupilComment.created_at.desc(), PupilComment.id.desc())).all()
    words: dict[int, list[str]] = {}
    shown = []
    for comment, pupil, survey_round in rows:
        if pupil.school_id not in words:
            words[pupil.school_id] = words_of(session, pupil.school_id)
        parts, matched = highlight(comment.text, words[pupil.school_id])
        shown.append(ShownComment(comment, pupil, survey_round, parts, matched))
    return sorted(shown, key=lambda s: not s.matched)


def set_words(session: Session, staff: StaffUser, school: School, text: str) -> list[str]:
    """Replace the school's safeguarding words with the lines of `text` (blank lines and
    repeats dropped); return them. Refuses (ReviewError) more than MAX_WORDS or a word
    longer than 100 characters."""
    words = sorted({line.strip().lower() for line in text.splitlines() if line.strip()})
    if len(words) > MAX_WORDS:
        raise ReviewError(f"Keep the list to {MAX_WORDS} words or phrases.")
    if any(len(w) > 100 for w in words):
        raise ReviewError("Keep each word or phrase to 100 characters.")
    before = words_of(session, school.id)
    session.execute(delete(SafeguardingWord).where(SafeguardingWord.school_id == school.id))
    session.add_all([SafeguardingWord(school_id=school.id, word=w) for w in words])
    session.flush()
    if before != words:
        record_change(session, staff, "school", school.id, "safeguarding words changed",
                      {"words": [len(before), len(words)]})
    return words


def mark_read(comments: list[ShownComment], now: datetime) -> None:
    """Note the first time the lead saw each comment."""
    for shown in comments:
        if shown.comment.read_at is None:
            shown.comment.read_at = now
