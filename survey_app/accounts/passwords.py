"""Staff accounts: creating them, passwords, waits after wrong passwords, sessions and
one-time reset links."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import ROLES, Partnership, PasswordReset, School, StaffUser
from ..models.staff import EMAIL_PATTERN, normalise_email
from .waits import SignInWaits, wait_in_words

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's score: 3 means about 10^8 guesses or more, beyond what an attacker who has the
# password hashes can try against a slow hash in reasonable time.
MIN_PASSWORD_SCORE = 3
# zxcvbn looks at no more than this many characters (its own limit; longer is slow).
CHECKED_LENGTH = 72
RESET_VALID_FOR = timedelta(hours=24)
SIGN_IN_REFUSED = "That email and password do not match an account."
# A real hash to check against when the email is unknown, so both take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + secrets.token_hex(8))


class AccountError(ValueError):
    """A refused account operation; the message is safe to show."""


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Return what is wrong with a new password (empty when it is acceptable).

    Refused: fewer than 12 characters, more than 200, spaces at either end, the email's
    name in it, fewer than 5 different characters, and anything zxcvbn finds easy to
    guess (a common or breached-style password, one with a few letters or digits added,
    a keyboard row, a sequence, a repeat, a date), each with a message saying why.
    """
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if password.strip() != password:
        problems.append("Do not start or end with a space.")
    if email and email.split("@")[0].lower() in password.lower():
        problems.append("Do not include your email name in the password.")
    if len(set(password)) < 5:
        problems.append("Use a mix of different characters.")
    if not problems:
        guessable = why_guessable(password, [email.split("@")[0], *name.split()] if email or name else [])
        if guessable:
            problems.append(guessable)
    return problems


def why_guessable(password: str, personal: list[str] | None = None) -> str | None:
    """Return why zxcvbn finds `password` easy to guess, in plain words, or None."""
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:CHECKED_LENGTH], user_inputs=[p for p in personal or [] if p])
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    matches = result["sequence"]
    common = [m for m in matches if m["pattern"] == "dictionary" and m.get("dictionary_name") == "passwords"]
    if any(m.get("dictionary_name") == "user_inputs" for m in matches):
        return "This password is built on your name or email, so it is easy to guess: choose another."
    if len(matches) == 1 and common:
        return ("This password is one of the most common passwords, so it is easy to guess: "
                "choose another.")
    if common:
        return ("This password is a common password with a little added or changed, so it is "
                "easy to guess: choose another.")
    return ("This password is easy to guess (it is made of a common word or name, a date, a "
            "keyboard row, a sequence such as abc or 123, or repeated characters): choose "
            "another. Three or four unrelated words make a strong password that is easy to remember.")


def create_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    name: str = "",
    school: School | None = None,
    partnership: Partnership | None = None,
) -> StaffUser:
    """Return a new staff account; refuses (AccountError) bad emails, roles, scopes, passwords."""
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise AccountError("Give a valid email address.")
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}.")
    if role == "authority" and (school is not None or partnership is not None):
        raise AccountError("Authority staff see aggregates only: give no school or partnership.")
    if role not in ("admin", "authority") and school is None and partnership is None:
        raise AccountError("A lead or teacher needs a school or a partnership.")
    if school is not None and partnership is not None:
        raise AccountError("Give a school or a partnership, not both.")
    problems = password_problems(password, email, name)
    if problems:
        raise AccountError(" ".join(problems))
    if session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.email == email)):
        raise AccountError("There is already an account with that email.")
    user = StaffUser(
        email=email,
        name=name.strip() or email.split("@")[0],
        role=role,
        school_id=school.id if school else None,
        partnership_id=partnership.id if partnership else None,
        password_hash=generate_password_hash(password),
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class SignInResult:
    user: StaffUser | None
    message: str | None


def authenticate(session: Session, email: str, password: str, now: datetime, address: str,
                 waits: SignInWaits) -> SignInResult:
    """Return the user when the email and password match and the account may sign in.

    Refuses with one message for an unknown email or a wrong password (no hint which;
    an unknown email costs the same password hash). After five wrong passwords for an
    email from `address`, tries from that address wait (see sign_in_waits); a wait is
    said the same way for an email that has no account.
    """
    email = normalise_email(email)
    wait = waits.seconds_to_wait(email, address, now.timestamp())
    if wait:
        return SignInResult(None, _wait_message(wait))
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return _wrong(waits, email, address)
    if not check_password_hash(user.password_hash, password or ""):
        return _wrong(waits, email, address)
    if not user.active:
        return SignInResult(None, "This account has been switched off. Ask an administrator.")
    waits.signed_in(email, address)
    user.last_login_at = now
    return SignInResult(user, None)


def _wrong(waits: SignInWaits, email: str, address: str) -> SignInResult:
    wait = waits.wrong_password(email, address)
    return SignInResult(None, _wait_message(wait) if wait else SIGN_IN_REFUSED)


def _wait_message(seconds: int) -> str:
    return (f"{SIGN_IN_REFUSED} After several wrong tries, this computer must wait "
            f"{wait_in_words(seconds)} before trying this email again. If you have forgotten "
            "your password, ask an administrator for a reset link.")


def end_sessions(user: StaffUser) -> None:
    """End every session `user` has anywhere (their next request finds them signed out)."""
    user.session_version = (user.session_version or 1) + 1


def set_password(user: StaffUser, new_password: str) -> None:
    """Set a new password and end every other session; refuses (AccountError) a weak one."""
    problems = password_problems(new_password, user.email, user.name or "")
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = generate_password_hash(new_password)
    end_sessions(user)


def change_password(user: StaffUser, current: str, new_password: str) -> None:
    """Change a password after checking the current one; refuses (AccountError)."""
    if not user.password_hash or not check_password_hash(user.password_hash, current or ""):
        raise AccountError("Your current password is not right.")
    if current == new_password:
        raise AccountError("Choose a password different from the current one.")
    set_password(user, new_password)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_reset(session: Session, user: StaffUser, issued_by: StaffUser | None, now: datetime) -> str:
    """Return a new one-time reset token for `user` (earlier unused ones stop working)."""
    for old in session.scalars(
        select(PasswordReset).where(PasswordReset.staff_id == user.id, PasswordReset.used_at.is_(None))
    ):
        old.used_at = now
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(
        staff_id=user.id, token_hash=_hash_token(token), created_by_id=issued_by.id if issued_by else None,
        created_at=now, expires_at=now + RESET_VALID_FOR,
    ))
    session.flush()
    return token


def find_reset(session: Session, token: str, now: datetime) -> PasswordReset | None:
    """Return the unused, unexpired reset for `token`, or None."""
    if not token or len(token) > 100:
        return None
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash_token(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    return reset


def use_reset(session: Session, token: str, new_password: str, now: datetime) -> StaffUser:
    """Set a new password through a reset link; refuses (AccountError) a used or bad link."""
    reset = find_reset(session, token, now)
    if reset is None:
        raise AccountError(
            "This link has expired or has already been used. Ask an administrator for a new one."
        )
    set_password(reset.staff, new_password)
    reset.used_at = now
    return reset.staff
