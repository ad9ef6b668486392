"""Questionnaire versions, survey rounds and the access codes pupils sign in with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .people import Group, Pupil

PHASES = ("before", "during", "after", "follow-up")
MODES = ("single", "page")

round_groups = Table(
    "round_groups",
    Base.metadata,
    Column("round_id", ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_round_groups_group_id", "group_id"),
)


class QuestionnaireVersion(Base):
    """One exact questionnaire definition, frozen as JSON with its content hash.

    Responses point here, so an answer is always read by the definition it was given under.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("key", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.key} v{self.version}"


class SurveyRound(Base):
    """One sitting of a questionnaire (before, during, after or follow-up) for some groups."""

    __tablename__ = "survey_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(20))
    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_versions.id")
    )
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(10), default="page")
    allow_finish_later: Mapped[bool] = mapped_column(default=True)
    # Languages offered besides English (codes of questionnaires/translations files), and
    # whether translations nobody has reviewed yet may be used.
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    allow_draft_languages: Mapped[bool] = mapped_column(default=False)
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questionnaire: Mapped[QuestionnaireVersion] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=round_groups)

    def state(self, now: datetime) -> str:
        """Return 'scheduled', 'open' or 'closed' at the moment `now`."""
        if now < self.opens_at:
            return "scheduled"
        if now >= self.closes_at:
            return "closed"
        return "open"


class AccessCode(Base):
    """The printed code one pupil signs in with for one round."""

    __tablename__ = "access_codes"
    __table_args__ = (UniqueConstraint("round_id", "pupil_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    pupil_id: Mapped[int] = mapped_column(
        ForeignKey("pupils.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reissued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    pupil: Mapped[Pupil] = relationship()
    round: Mapped[SurveyRound] = relationship()
