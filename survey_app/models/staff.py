"""Staff accounts, their roles and scope, one-time password reset links, group staffing."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

# "authority": staff of an authority or trust, who see its aggregates only.
ROLES = ("admin", "lead", "teacher", "authority")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """Return an email address as accounts are looked up by: trimmed and lower case."""
    return (email or "").strip().lower()


group_staff = Table(
    "group_staff",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("is_lead", Boolean, nullable=False, default=False),
    Index("ix_group_staff_staff_id", "staff_id"),
)


class StaffUser(Base):
    """A member of staff. `role` applies within their school or partnership."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # No longer written: wrong passwords make the computer wait (services/sign_in_waits.py),
    # they never lock the account. Kept until a migration drops them.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped at sign-out, a password change or reset and when the account is switched off:
    # it is part of Flask-Login's id, so every session signed in before then ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school = relationship("School")
    partnership = relationship("Partnership")
    authority = relationship("Authority", secondary="authority_staff", uselist=False, viewonly=True)

    # What Flask-Login asks of a signed-in user (written here so models import no Flask).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    @property
    def scope_label(self) -> str:
        if self.role == "admin":
            return "All schools"
        if self.role == "authority":
            return self.authority.name if self.authority is not None else "No authority set"
        if self.partnership is not None:
            return self.partnership.name
        if self.school is not None:
            return self.school.name
        return "No school set"


class PasswordReset(Base):
    """A one-time link an admin issues; only the token's hash is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff = relationship("StaffUser", foreign_keys=[staff_id])
