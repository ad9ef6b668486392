"""Administrators' changes to staff accounts: the write side of the admin screens.

Each takes the acting administrator explicitly, adds a change-log entry ("staff", id) and
leaves the commit to the caller. Refusals are `AdminError`s naming the form field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from ..audit.changes import diff_fields, record_change
from ..models import ROLES, Partnership, School, StaffUser
from ..models.staff import normalise_email
from . import passwords as staff_accounts
from .passwords import AccountError, password_problems
from .waits import SignInWaits

ROLE_LABELS = {
    "teacher": "Teacher: sees the groups they are attached to",
    "lead": "Lead: sets up pupils, groups and rounds in their school or partnership",
    "admin": "Administrator: sees everything and manages staff accounts",
}


class AdminError(AccountError):
    """A refused account change; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Place:
    """Where an account works: a school, a partnership, or nowhere (administrators)."""

    school: School | None = None
    partnership: Partnership | None = None

    @property
    def key(self) -> str:
        if self.school is not None:
            return f"school:{self.school.id}"
        if self.partnership is not None:
            return f"partnership:{self.partnership.id}"
        return ""

    @property
    def label(self) -> str:
        if self.school is not None:
            return self.school.name
        if self.partnership is not None:
            return self.partnership.name
        return "All schools"


def place_options(session: Session) -> list[SelectChoice]:
    """Return a choice for every partnership and school, after 'none' for administrators."""
    options = [SelectChoice("", "None: administrators see every school")]
    options += [SelectChoice(f"partnership:{p.id}", f"{p.name} (partnership)")
                for p in session.scalars(select(Partnership).order_by(Partnership.name))]
    options += [SelectChoice(f"school:{s.id}", f"{s.name} (URN {s.urn})")
                for s in session.scalars(select(School).order_by(School.name))]
    return options


def place_from_key(session: Session, key: str | None) -> Place:
    """Return the Place a form's key names; refuses (AdminError) an unknown one."""
    if not key:
        return Place()
    kind, _, ident = key.partition(":")
    model = {"school": School, "partnership": Partnership}.get(kind)
    row = session.get(model, int(ident)) if model is not None and ident.isdigit() else None
    if row is None:
        raise AdminError("Choose a school or partnership from the list.", "place")
    return Place(school=row) if kind == "school" else Place(partnership=row)


def place_of(user: StaffUser) -> Place:
    """Return where `user` works now."""
    return Place(school=user.school, partnership=user.partnership)


def _check_role_and_place(role: str, place: Place) -> None:
    if role not in ROLES:
        raise AdminError("Choose teacher, lead or administrator.", "role")
    if role == "admin" and place.key:
        raise AdminError("An administrator sees every school: give no school or partnership.", "place")
    if role == "authority" and place.key:
        raise AdminError("Authority staff see aggregates only: give no school or partnership (add them to "
                         "an authority on its page under Authorities, or with add-authority-staff).", "place")
    if role not in ("admin", "authority") and not place.key:
        raise AdminError("A lead or teacher needs a school or a partnership.", "place")


def _unusable_password(email: str) -> str:
    # The account must be created with a valid password; it is thrown away at once.
    while True:
        candidate = secrets.token_urlsafe(32)
        if not password_problems(candidate, email):
            return candidate


def create_account(session: Session, actor: StaffUser | None, email: str, name: str, role: str,
                   place: Place, password: str | None, now: datetime,
                   via: str = "admin screen") -> tuple[StaffUser, str | None]:
    """Create an account; return it and, when `password` is None, a one-time set-password token.

    Without a password the account cannot sign in until the link is used. Refuses
    (AdminError) a bad or taken email, a role/place mismatch or a weak password.
    """
    email = normalise_email(email)
    if not staff_accounts.EMAIL_PATTERN.match(email) or len(email) > 254:
        raise AdminError("Give a valid email address.", "email")
    if session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.email == email)):
        raise AdminError("There is already an account with that email.", "email")
    _check_role_and_place(role, place)
    if password is not None:
        problems = password_problems(password, email)
        if problems:
            raise AdminError(" ".join(problems), "password")
    user = staff_accounts.create_user(
        session, email, role, password if password is not None else _unusable_password(email),
        name=name or "", school=place.school, partnership=place.partnership,
    )
    token = None
    if password is None:
        user.password_hash = None
        token = staff_accounts.issue_reset(session, user, actor, now)
    record_change(session, actor, "staff", user.id, "created", {
        "email": user.email, "name": user.name, "role": role, "place": place.label,
        "password": "set by administrator" if password is not None else "set-password link issued",
        "via": via,
    })
    return user, token


def update_account(session: Session, actor: StaffUser, user: StaffUser, name: str, role: str,
                   place: Place, active: bool) -> bool:
    """Change an account's name, role, place and whether it may sign in; return whether it changed.

    Refuses (AdminError) an administrator demoting or switching off their own account, a
    role/place mismatch, or an empty name.
    """
    name = (name or "").strip()
    if not name:
        raise AdminError("Give a name.", "name")
    if user.id == actor.id and role != user.role:
        raise AdminError("You cannot change your own role. Ask another administrator.", "role")
    if user.id == actor.id and not active:
        raise AdminError("You cannot switch off your own account. Ask another administrator.", "active")
    _check_role_and_place(role, place)
    old_place = place_of(user).label
    changes: dict[str, Any] = diff_fields(user, {
        "name": name, "role": role, "active": active,
        "school_id": place.school.id if place.school else None,
        "partnership_id": place.partnership.id if place.partnership else None,
    })
    if "school_id" in changes or "partnership_id" in changes:
        changes.pop("school_id", None)
        changes.pop("partnership_id", None)
        changes["place"] = [old_place, place.label]
    if changes.get("active") == [True, False]:
        staff_accounts.end_sessions(user)
    if changes:
        session.flush()
        session.expire(user, ["school", "partnership"])
        record_change(session, actor, "staff", user.id, "edited", changes)
    return bool(changes)


def unlock_account(session: Session, actor: StaffUser, user: StaffUser, waits: SignInWaits) -> None:
    """End every wait after wrong passwords for `user`'s email, from every computer."""
    waits.clear_account(user.email)
    record_change(session, actor, "staff", user.id, "unlocked", {})


def issue_link(session: Session, actor: StaffUser, user: StaffUser, now: datetime) -> str:
    """Return a new one-time set-password token for `user` (older unused links stop working)."""
    token = staff_accounts.issue_reset(session, user, actor, now)
    record_change(session, actor, "staff", user.id, "issued reset link", {})
    return token


def set_active(session: Session, actor: StaffUser, user: StaffUser, active: bool) -> bool:
    """Switch an account on or off; return False when it already was. Refuses your own account."""
    if user.id == actor.id and not active:
        raise AdminError("You cannot switch off your own account. Ask another administrator.")
    if user.active == active:
        return False
    user.active = active
    if not active:
        staff_accounts.end_sessions(user)
    record_change(session, actor, "staff", user.id, "reactivated" if active else "deactivated", {})
    return True
