"""Custom pupil flags (e.g. "mentored")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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

pupil_flag_members = Table(
    "pupil_flag_members",
    Base.metadata,
    Column("flag_id", ForeignKey("pupil_flags.id", ondelete="CASCADE"), primary_key=True),
    Column("pupil_id", ForeignKey("pupils.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_pupil_flag_members_pupil_id", "pupil_id"),
)


class PupilFlag(Base):
    """A flag a lead defines and sets on pupils, such as "mentored" or "gifted and talented".

    Belongs to a school or to a partnership (then it may be set on pupils of its schools).
    """

    __tablename__ = "pupil_flags"
    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        UniqueConstraint("partnership_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(Text)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school = relationship("School")
    partnership = relationship("Partnership")
    pupils = relationship("Pupil", secondary=pupil_flag_members, viewonly=True)
