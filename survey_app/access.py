"""Staff sign-in state and the one decorator every staff route uses.

`staff_required(*roles)` signs the user in or refuses: anonymous → sign-in page (with a
checked `next`), wrong role → 403. Rows outside the user's scope are 404 through
`current_scope()` (see scope.py).
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, request, session
from flask_login import LoginManager, current_user, logout_user

from .db import db
from .models import StaffUser
from .scope import Scope

login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

STAFF_SEEN = "staff_seen"
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


def enforce_idle_timeout() -> None:
    """Sign staff out after STAFF_IDLE_MINUTES without a request (before every request)."""
    if not session.get("_user_id"):
        return
    limit = current_app.config["STAFF_IDLE_MINUTES"] * 60
    seen = session.get(STAFF_SEEN, 0)
    now = time.time()
    if seen and now - float(seen) > limit:
        logout_user()
        session.clear()
        session["staff_idle_out"] = True
        return
    if request.endpoint not in BACKGROUND_ENDPOINTS:
        session[STAFF_SEEN] = now


def current_scope() -> Scope:
    """Return the signed-in staff member's Scope (cached for the request)."""
    if "scope" not in g:
        g.scope = Scope(current_user._get_current_object())
    return g.scope


def staff_required(*roles: str):
    """Decorate a view: signed-in staff only; with `roles`, only those roles (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.staff_roles = roles or ("admin", "lead", "teacher")
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
