"""Partnerships, schools, pupils and the groups that cut across schools."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..privacy.keys import new_cell_key, new_record_key
from .base import Base, UTCDateTime, utcnow

group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("pupil_id", ForeignKey("pupils.id", ondelete="CASCADE"), primary_key=True),
    # Membership is read both ways: a group's pupils and a pupil's groups.
    Index("ix_group_members_pupil_id", "pupil_id"),
)


class Partnership(Base):
    """A partnership, trust or local authority that holds several schools."""

    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    schools: Mapped[list[School]] = relationship(back_populates="partnership")


class School(Base):
    """A school or college; may stand alone or belong to a partnership."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnerships.id"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partnership: Mapped[Partnership | None] = relationship(back_populates="schools")
    pupils: Mapped[list[Pupil]] = relationship(back_populates="school")


class Pupil(Base):
    """A learner, identified within their school by the UPN.

    Responses belong to the pupil, not the school, so a move keeps the history.
    """

    __tablename__ = "pupils"
    __table_args__ = (
        UniqueConstraint("school_id", "upn"),
        Index("ix_pupils_school_id_year_group", "school_id", "year_group"),
        Index("ix_pupils_upn", "upn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    upn: Mapped[str] = mapped_column(String(13))
    first_name: Mapped[str] = mapped_column(String(100))
    surname: Mapped[str] = mapped_column(String(100))
    year_group: Mapped[int] = mapped_column(Integer)
    reg_group: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str | None] = mapped_column(String(20))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    # SEN status as the school census records it: N none, K SEN support, E EHC plan.
    sen: Mapped[str] = mapped_column(String(1), default="N")
    fsm: Mapped[bool] = mapped_column(Boolean, default=False)
    eal: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # The day the pupil left the school (retention counts from it); None while on roll.
    left_on: Mapped[date | None] = mapped_column(Date)
    # Whether the pupil's own data is shared with the partnership's leads; when it is not,
    # partnership leads see this pupil only inside suppressed aggregates.
    shared_with_partnership: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Random, stored, never shown: the pupil's figures in protected aggregates are
    # perturbed by it (privacy/keys.py). Backups carry it; erasure removes it. Every pupil
    # has one; the column allows NULL only so SQLite could add it without a table rebuild.
    record_key: Mapped[int | None] = mapped_column(BigInteger, default=new_record_key)
    cell_key: Mapped[int | None] = mapped_column(BigInteger, default=new_cell_key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    school: Mapped[School] = relationship(back_populates="pupils")
    groups: Mapped[list[Group]] = relationship(
        secondary=group_members, back_populates="pupils"
    )
    flags = relationship("PupilFlag", secondary="pupil_flag_members", viewonly=True)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.surname}"


class Group(Base):
    """A programme or class; a partnership group may mix schools and year groups."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="programme")
    description: Mapped[str | None] = mapped_column(Text)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnerships.id"), index=True
    )
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pupils: Mapped[list[Pupil]] = relationship(
        secondary=group_members, back_populates="groups"
    )
    staff = relationship("StaffUser", secondary="group_staff", viewonly=True)
    school = relationship("School")
    partnership = relationship("Partnership")


def year_label(year: int | None) -> str:
    """Return "Reception" for 0, "Year 7" for 7."""
    if year is None:
        return "—"
    return "Reception" if year == 0 else f"Year {year}"


def short_year(year: int | None) -> str:
    """Return "R" for 0, "Y7" for 7 (table columns)."""
    if year is None:
        return "—"
    return "R" if year == 0 else f"Y{year}"

