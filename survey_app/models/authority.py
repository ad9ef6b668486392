"""An authority (or trust) above partnerships and schools, the partnerships it brokers,
its staff, and the local norm tables computed from its rounds.

Every link is a table of its own, so the tables of schools, partnerships and staff stay as
they are: a school joins an authority by a row in `authority_schools`, a partnership is
brokered by a row in `brokered_partnerships` (with its start date) and pairs schools by
rows in `partnership_pairings`, and a member of staff with the "authority" role belongs
to one authority by a row in `authority_staff`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

# What a school does in a brokered partnership: it is supported, or it supports.
PAIRING_ROLES = ("supported", "supporting")

authority_schools = Table(
    "authority_schools",
    Base.metadata,
    Column("school_id", ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True),
    Column("authority_id", ForeignKey("authorities.id", ondelete="CASCADE"), nullable=False, index=True),
)

authority_staff = Table(
    "authority_staff",
    Base.metadata,
    Column("staff_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("authority_id", ForeignKey("authorities.id", ondelete="CASCADE"), nullable=False, index=True),
)


class Authority(Base):
    """A local authority or trust: its schools, the partnerships it brokers, its staff."""

    __tablename__ = "authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    schools = relationship("School", secondary=authority_schools, order_by="School.name")
    partnerships: Mapped[list[BrokeredPartnership]] = relationship(
        back_populates="authority", order_by="BrokeredPartnership.started_on")


class BrokeredPartnership(Base):
    """A partnership the authority brokered, from `started_on`, pairing some of its schools."""

    __tablename__ = "brokered_partnerships"

    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"),
                                                primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id", ondelete="CASCADE"), index=True)
    started_on: Mapped[date] = mapped_column(Date)

    authority: Mapped[Authority] = relationship(back_populates="partnerships")
    partnership = relationship("Partnership")
    pairings: Mapped[list[PartnershipPairing]] = relationship(
        back_populates="brokered", cascade="all, delete-orphan", order_by="PartnershipPairing.role")


class PartnershipPairing(Base):
    """One school of a brokered partnership and its part in it (supported or supporting)."""

    __tablename__ = "partnership_pairings"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("brokered_partnerships.partnership_id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))

    brokered: Mapped[BrokeredPartnership] = relationship(back_populates="pairings")
    school = relationship("School")


class NormTable(Base):
    """A versioned table of local norms: percentiles of each factor by year group over the
    pupils of a reference (an authority's or a partnership's rounds between two dates)."""

    __tablename__ = "norm_tables"
    __table_args__ = (UniqueConstraint("authority_id", "reference", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id", ondelete="CASCADE"), index=True)
    # The partnership whose rounds form the reference; None: the whole authority's.
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(200))  # "authority" or "partnership:<id>"
    version: Mapped[int] = mapped_column(Integer)
    questionnaire_key: Mapped[str] = mapped_column(String(100))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)  # pupils in the reference
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    authority: Mapped[Authority] = relationship()
    cells: Mapped[list[NormCell]] = relationship(back_populates="table", cascade="all, delete-orphan",
                                                 order_by="(NormCell.factor, NormCell.year_group)")


class NormCell(Base):
    """The percentiles of one factor in one year group of a norm table (`points` holds the
    score at each of NORM_PERCENTILES, as a list)."""

    __tablename__ = "norm_cells"
    __table_args__ = (Index("ix_norm_cells_table_id_factor_year_group", "table_id", "factor", "year_group",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("norm_tables.id", ondelete="CASCADE"))
    factor: Mapped[str] = mapped_column(String(100))
    year_group: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    points: Mapped[list] = mapped_column(JSON)

    table: Mapped[NormTable] = relationship(back_populates="cells")

