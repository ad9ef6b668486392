"""Support given to a pupil, cached round statistics, and the record of who viewed what."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

SUPPORT_KINDS = ("note", "intervention")


class SupportEntry(Base):
    """A dated note or an intervention (type, start, end) in a pupil's support log."""

    __tablename__ = "support_entries"
    __table_args__ = (Index("ix_support_entries_pupil_id_starts_on", "pupil_id", "starts_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    intervention_type: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    author = relationship("StaffUser", foreign_keys=[author_id])
    updated_by = relationship("StaffUser", foreign_keys=[updated_by_id])


class RoundFactorStats(Base):
    """Per round and factor: spread of scores and Cronbach's alpha, computed from the data.

    Cached because profiles read them on every view; refreshed when stale or by `rescore`.
    """

    __tablename__ = "round_factor_stats"
    __table_args__ = (UniqueConstraint("round_id", "factor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    factor: Mapped[str] = mapped_column(String(60))
    n: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float | None] = mapped_column(Float)
    sd: Mapped[float | None] = mapped_column(Float)
    alpha: Mapped[float | None] = mapped_column(Float)
    alpha_n: Mapped[int] = mapped_column(Integer, default=0)
    # Cell keys (privacy.keys) of the pupils behind n and alpha_n, so the figures can be
    # shown perturbed to staff who may not see every pupil of the round one by one.
    key_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    alpha_key_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    finished_responses: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what to whose data, and when: profile views, exports, admin actions.

    Written once and never edited or deleted through the app.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_pupil_id_at", "pupil_id", "at"),
        Index("ix_audit_events_staff_id_at", "staff_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
