"""Tracking: attainment and attendance imported from a school's MIS, interventions for
pupils and groups with their notes, and the pattern thresholds a school or partnership sets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

INTERVENTION_KINDS = ("mentoring", "small-group work", "attendance support", "literacy", "pastoral", "custom")
INTERVENTION_STATUSES = ("planned", "active", "completed", "stopped")


class AttainmentResult(Base):
    """One result at one assessment point in one subject, stored with its scale.

    `result`, `target` and `prediction` are kept as the school typed them; the `*_value`
    columns place them on their scale (tracking/scales.py) so that on/above/below target
    is worked out within the scale only. A prediction is not a target: both are kept.
    """

    __tablename__ = "attainment_results"
    __table_args__ = (
        UniqueConstraint("pupil_id", "subject", "assessment"),
        Index("ix_attainment_results_pupil_id_assessed_on", "pupil_id", "assessed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(60))
    assessment: Mapped[str] = mapped_column(String(60))
    assessed_on: Mapped[date] = mapped_column(Date)
    scale: Mapped[str] = mapped_column(String(30))
    result: Mapped[str] = mapped_column(String(30))
    result_value: Mapped[float] = mapped_column(Float)
    target: Mapped[str | None] = mapped_column(String(30))
    target_value: Mapped[float | None] = mapped_column(Float)
    prediction: Mapped[str | None] = mapped_column(String(30))
    prediction_value: Mapped[float | None] = mapped_column(Float)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttendancePeriod(Base):
    """A pupil's attendance over one period, as a percentage (and sessions when given)."""

    __tablename__ = "attendance_periods"
    __table_args__ = (UniqueConstraint("pupil_id", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    possible: Mapped[int | None] = mapped_column(Integer)
    attended: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[float] = mapped_column(Float)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


intervention_members = Table(
    "intervention_members",
    Base.metadata,
    Column("intervention_id", ForeignKey("interventions.id", ondelete="CASCADE"), primary_key=True),
    Column("pupil_id", ForeignKey("pupils.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_intervention_members_pupil_id", "pupil_id"),
)


class Intervention(Base):
    """A plan for a pupil or a group (its pupils at the start), owned by a member of staff.

    `targets` is {"factors": [keys], "subjects": [names], "attendance": bool}; `measure`
    and `measure_value` are the optional measurable criterion (e.g. "factor_out_of_low"
    on self_regard, or "attendance_at_least" 95).
    """

    __tablename__ = "interventions"
    __table_args__ = (Index("ix_interventions_owner_id_review_on", "owner_id", "review_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    starts_on: Mapped[date] = mapped_column(Date)
    review_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    success_criterion: Mapped[str] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(String(40))
    measure_factor: Mapped[str | None] = mapped_column(String(60))
    measure_value: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    owner = relationship("StaffUser", foreign_keys=[owner_id])
    school = relationship("School")
    pupils = relationship("Pupil", secondary=intervention_members, viewonly=True)
    notes: Mapped[list[InterventionNote]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True,
        order_by="InterventionNote.noted_on.desc()")


class InterventionNote(Base):
    """A dated note on an intervention's timeline."""

    __tablename__ = "intervention_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(ForeignKey("interventions.id", ondelete="CASCADE"), index=True)
    noted_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    intervention: Mapped[Intervention] = relationship(back_populates="notes")
    author = relationship("StaffUser")


class PatternThreshold(Base):
    """One threshold of one pattern, as a school (or a partnership, for its schools) chose it.

    A school's own choice wins over its partnership's, which wins over our default.
    """

    __tablename__ = "pattern_thresholds"
    __table_args__ = (UniqueConstraint("school_id", "partnership_id", "pattern", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
