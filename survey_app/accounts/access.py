"""Staff sign-in state and the one decorator every staff route uses.

`staff_required(*roles)` signs the user in or refuses: anonymous → sign-in page (with a
checked `next`), wrong role → 403. Rows outside the user's scope are 404 through
`current_scope()` (see scope.py).

A staff session ends after STAFF_IDLE_MINUTES without a request, and STAFF_SESSION_HOURS
after signing in however busy the member of staff has been (activity does not extend
it). It also ends when the account's session version moves on (sign-out, a password
change or reset, an administrator switching the account off): the version is part of
the id Flask-Login keeps, so every other copy of the session stops loading the user.
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, request, session
from flask_login import LoginManager, current_user, login_user, logout_user

from ..db import db
from ..models import StaffUser
from ..sessions import rotate
from .scope import Scope

login_manager = LoginManager()
login_manager.login_view = "accounts.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

STAFF_SEEN = "staff_seen"
STAFF_SINCE = "staff_since"
# Requests a page makes by itself (polling) are not a person at the keyboard.
BACKGROUND_ENDPOINTS = {"rounds.completion_json", "cohort.export_status_json"}


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    # The id carries the session version: a password change ends older sessions.
    try:
        ident, version = (int(part) for part in user_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(StaffUser, ident)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def start_staff_session(user: StaffUser) -> None:
    """Sign `user` in on a new session id: nothing from before sign-in carries over, and
    an id planted or seen before sign-in opens nothing (session fixation)."""
    session.clear()
    rotate()
    login_user(user)
    session.permanent = True
    now = time.time()
    session[STAFF_SINCE] = now
    session[STAFF_SEEN] = now


def renew_staff_session(user: StaffUser) -> None:
    """Keep this session signed in after `user`'s session version moved on (their own
    password change), under a new id; its sign-in time, and so its end, stay the same."""
    rotate()
    login_user(user)


def end_staff_session() -> None:
    """Sign out in this browser and delete the stored session (a copied cookie is dead)."""
    logout_user()
    session.clear()
    rotate()


def enforce_staff_session_limits() -> None:
    """Sign staff out after STAFF_IDLE_MINUTES without a request, or STAFF_SESSION_HOURS
    after signing in (before every request)."""
    if not session.get("_user_id"):
        return
    config = current_app.config
    now = time.time()
    since = session.get(STAFF_SINCE)
    seen = session.get(STAFF_SEEN, 0)
    if not isinstance(since, int | float) or now - since > config["STAFF_SESSION_HOURS"] * 3600:
        end_staff_session()
        session["staff_expired"] = True
        return
    if seen and now - float(seen) > config["STAFF_IDLE_MINUTES"] * 60:
        end_staff_session()
        session["staff_idle_out"] = True
        return
    if request.endpoint not in BACKGROUND_ENDPOINTS:
        session[STAFF_SEEN] = now


def sign_in_waits():
    """Return the wrong-password counts, kept where the rate limits are (every worker's).

    With the route limits switched off (RATELIMIT_ENABLED=0) the limiter has no storage, but
    the waits after wrong passwords still apply: they get the same storage of their own.
    """
    from ..extensions import limiter
    from .waits import SignInWaits

    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    if limiter.enabled:
        return SignInWaits(limiter.storage, prefix)
    storage = current_app.extensions.get("sign_in_waits_storage")
    if storage is None:
        from limits.storage import storage_from_string

        storage = storage_from_string(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
        current_app.extensions["sign_in_waits_storage"] = storage
    return SignInWaits(storage, prefix)


def current_scope() -> Scope:
    """Return the signed-in staff member's Scope (cached for the request)."""
    if "scope" not in g:
        g.scope = Scope(current_user._get_current_object())
    return g.scope


def staff_required(*roles: str):
    """Decorate a view: signed-in staff only; with `roles`, only those roles (else 403).

    Without `roles`: school staff (admin, lead, teacher); authority staff see aggregates
    only, so a view admits them only by naming their role.
    """
    allowed = roles or ("admin", "lead", "teacher")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.staff_roles = allowed
        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """Return `target` when it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 500:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def request_next() -> str | None:
    return safe_next(request.args.get("next") or request.form.get("next"))
