"""Who is answering in this browser: the pupil's part of the session cookie.

Only ids live in the cookie. It is cleared on sign-out, on finishing, and after the
idle limit, so the next pupil at a shared computer sees nothing of the last one.
"""

from __future__ import annotations

import time

from flask import current_app, session

KEY = "pupil"


def sign_in(code_id: int) -> None:
    """Start a fresh pupil session for a checked code (nothing else survives)."""
    session.clear()
    session[KEY] = {"code_id": code_id, "response_id": None, "seen": time.time()}


def confirm(response_id: int) -> None:
    """Record the response the confirmed pupil is answering."""
    data = dict(session.get(KEY) or {})
    data["response_id"] = response_id
    data["seen"] = time.time()
    session[KEY] = data


def sign_out() -> None:
    session.clear()


def current() -> dict | None:
    """Return the pupil's session data, or None (and clear it) when idle too long."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None
    idle = current_app.config["PUPIL_IDLE_MINUTES"] * 60
    if time.time() - float(data.get("seen", 0)) > idle:
        session.clear()
        session["idle_out"] = True
        return None
    return data


SEEN_RESOLUTION = 30  # seconds: re-signing the cookie on every autosave costs more than it tells


def mark_seen() -> None:
    data = session.get(KEY)
    if isinstance(data, dict) and time.time() - float(data.get("seen", 0)) > SEEN_RESOLUTION:
        data = dict(data)
        data["seen"] = time.time()
        session[KEY] = data


def was_idle_out() -> bool:
    return bool(session.pop("idle_out", False))
