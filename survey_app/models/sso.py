"""Single sign-on: the OpenID providers staff may sign in with, and each place's sign-in
rules (which email domains it allows, whether passwords may still be used)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

PROVIDER_KINDS = ("entra", "google", "oidc")


class SsoProvider(Base):
    """An OpenID Connect provider set up by an administrator. The client secret is never
    stored: `secret_env` names the environment variable that holds it."""

    __tablename__ = "sso_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="oidc")
    issuer: Mapped[str] = mapped_column(String(500), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    secret_env: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignInPolicy(Base):
    """A school's or partnership's sign-in rules; the row with neither is the rule for
    administrators (who belong to no place). `allowed_domains` is one domain a line."""

    __tablename__ = "sign_in_policies"
    __table_args__ = (UniqueConstraint("school_id"), UniqueConstraint("partnership_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"))
    allowed_domains: Mapped[str] = mapped_column(Text, default="")
    password_sign_in: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    school = relationship("School")
    partnership = relationship("Partnership")

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower() for d in (self.allowed_domains or "").split() if d.strip()]
