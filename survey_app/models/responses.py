"""A pupil's response to a round, its answers, and the factor scores stored when it finishes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import Pupil
from .surveys import QuestionnaireVersion, SurveyRound


class Response(Base):
    """One pupil's sitting of one round; there is never more than one."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("round_id", "pupil_id"),
        Index("ix_responses_pupil_id", "pupil_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_versions.id")
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Active time: gaps between saves longer than a few minutes count as away.
    seconds_spent: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(10), default="page")
    # The language the statements were shown in (BCP 47; "en" for the instrument's own).
    language: Mapped[str] = mapped_column(String(35), default="en")
    # 'pupil' online, 'staff' typed in from paper, 'import' from a paper-answers CSV.
    entered_by: Mapped[str] = mapped_column(String(20), default="pupil")
    entered_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )

    pupil: Mapped[Pupil] = relationship()
    round: Mapped[SurveyRound] = relationship()
    questionnaire: Mapped[QuestionnaireVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(Base):
    """The pupil's newest answer to one statement of one response.

    `seq` orders the answers a pupil gave: a retried older request never overwrites a
    newer answer (see services.record_answers).
    """

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    response: Mapped[Response] = relationship(back_populates="answers")


class FactorScore(Base):
    """A finished response's score on one factor, computed once by the pure scoring code."""

    __tablename__ = "factor_scores"
    __table_args__ = (
        UniqueConstraint("response_id", "factor"),
        Index("ix_factor_scores_round_id_factor", "round_id", "factor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    factor: Mapped[str] = mapped_column(String(60))
    score: Mapped[float | None] = mapped_column(Float)
    items_answered: Mapped[int] = mapped_column(Integer)
    items_total: Mapped[int] = mapped_column(Integer)
    band: Mapped[str | None] = mapped_column(String(40))
    # The factor's answers packed into one integer (scoring.reliability.encode_items) when
    # every statement is answered: cohort reliability is summed from this table alone.
    item_code: Mapped[int | None] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A questionnaire has at most this many factors (the questionnaires package refuses more).
FACTOR_SLOTS = 12


def _slot_columns() -> list[Column]:
    columns: list[Column] = []
    for slot in range(1, FACTOR_SLOTS + 1):
        columns += [Column(f"score_{slot}", Float), Column(f"band_{slot}", String(40)),
                    Column(f"code_{slot}", BigInteger), Column(f"offset_{slot}", Float)]
    return columns


class ResponseScores(Base):
    """A finished response's factor scores side by side: one row per response.

    The same numbers as its FactorScore rows (written with them by store_scores), laid out
    for cohort aggregates: the factor in position i of the response's questionnaire is in
    score_i, band_i and code_i (its answers packed by scoring.reliability.encode_items
    when every statement is answered). A cohort's paired changes then join one row per
    pupil and round instead of one per factor, and a round's moments and reliability sums
    are one pass over one row per pupil. offset_i is the fixed offset (privacy.keys) the
    score carries into figures that protect the pupil; never shown.
    """

    __table__ = Table(
        "response_scores",
        Base.metadata,
        Column("response_id", ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True),
        Column("round_id", ForeignKey("survey_rounds.id", ondelete="CASCADE"), nullable=False),
        Column("pupil_id", ForeignKey("pupils.id", ondelete="CASCADE"), nullable=False),
        *_slot_columns(),
        Index("ix_response_scores_round_id_pupil_id", "round_id", "pupil_id"),
    )


def slot(position: int, table=None) -> tuple[Column, Column, Column]:
    """Return the (score, band, code) columns of the factor in `position` (1-based), of
    response_scores or of an alias of it."""
    c = (ResponseScores.__table__ if table is None else table).c
    return c[f"score_{position}"], c[f"band_{position}"], c[f"code_{position}"]


def offset_column(position: int, table=None) -> Column:
    """Return the privacy offset column of the factor in `position`, of response_scores or an alias."""
    return (ResponseScores.__table__ if table is None else table).c[f"offset_{position}"]
