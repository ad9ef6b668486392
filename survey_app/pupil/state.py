"""Who is answering in this browser: the pupil's part of the session (kept on the server).

Only ids live in it, and the time the code was last reissued when the pupil signed in
with it: a code reissued since then (a lost slip) ends this session at its next request.
It is deleted on sign-out, on finishing, and after the idle limit, so the next pupil at a
shared computer sees nothing of the last one; signing in starts it under a new id.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import current_app, session

from ..sessions import rotate

KEY = "pupil"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def code_stamp(reissued_at: datetime | None) -> int:
    """Return a code's reissue time as whole microseconds (0: never reissued), exactly."""
    return 0 if reissued_at is None else (reissued_at - _EPOCH) // _MICROSECOND


def reissued_at_of(data: dict) -> datetime | None:
    """Return the reissue time the session's code had at sign-in (None: never reissued)."""
    stamp = data.get("reissued")
    return None if not stamp else _EPOCH + stamp * _MICROSECOND


LANGUAGE_KEY = "lang"


def sign_in(code_id: int, reissued_at: datetime | None) -> None:
    """Start a fresh pupil session for a checked code, under a new session id (the
    language chosen on this computer stays: a teacher may have set it for the class)."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    rotate()
    if language:
        session[LANGUAGE_KEY] = language
    session[KEY] = {"code_id": code_id, "reissued": code_stamp(reissued_at), "response_id": None,
                    "seen": time.time()}


def holds_code(data: dict, reissued_at: datetime | None) -> bool:
    """Return True while the session's code has not been reissued since sign-in."""
    return isinstance(data.get("reissued"), int) and data["reissued"] == code_stamp(reissued_at)


def confirm(response_id: int, version_id: int, content_hash: str) -> None:
    """Record the response the confirmed pupil is answering, and its questionnaire
    version (id and hash), so that an autosave needs no read to know what to check."""
    data = dict(session.get(KEY) or {})
    data["response_id"] = response_id
    data["version"] = [version_id, content_hash]
    data["seen"] = data["touched"] = time.time()
    session[KEY] = data


def answering(data: dict) -> tuple[int, int, str, datetime | None] | None:
    """Return (response id, questionnaire version id, content hash, the code's reissue time
    at sign-in) from the pupil's session data, or None when it holds anything else."""
    response_id, version = data.get("response_id"), data.get("version")
    if not isinstance(response_id, int) or not isinstance(version, list) or len(version) != 2:
        return None
    version_id, content_hash = version
    if not isinstance(version_id, int) or not isinstance(content_hash, str):
        return None
    if not isinstance(data.get("reissued"), int):
        return None
    return response_id, version_id, content_hash, reissued_at_of(data)


def touch_due(every: float) -> bool:
    """Return True (and note the time) when `every` seconds have passed since the time
    spent was last brought up to date for this pupil, so autosaves write it seldom."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return False
    now = time.time()
    if now - float(data.get("touched", 0)) < every:
        return False
    data = dict(data)
    data["touched"] = now
    session[KEY] = data
    return True


def sign_out() -> None:
    """Forget the pupil in this browser: the stored session is deleted, the id replaced
    (only the language chosen on this computer stays, as at sign-in)."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    rotate()
    if language:
        session[LANGUAGE_KEY] = language


def current() -> dict | None:
    """Return the pupil's session data, or None (and clear it) when idle too long."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None
    idle = current_app.config["PUPIL_IDLE_MINUTES"] * 60
    if time.time() - float(data.get("seen", 0)) > idle:
        sign_out()
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


RESULTS_KEY = "pupil_results"


def show_results(response_id: int) -> None:
    """Start a fresh session that may see only "My results" of one finished response."""
    sign_out()
    session[RESULTS_KEY] = {"response_id": response_id, "seen": time.time()}


def results_response_id() -> int | None:
    """Return the response whose "My results" this browser holds, without touching the
    session (results_response checks it and keeps it alive)."""
    data = session.get(RESULTS_KEY)
    response_id = data.get("response_id") if isinstance(data, dict) else None
    return response_id if isinstance(response_id, int) else None


def results_response() -> int | None:
    """Return the response whose "My results" this browser may see, or None (and forget
    it) when there is none or it has been left idle too long."""
    data = session.get(RESULTS_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("response_id"), int):
        return None
    if time.time() - float(data.get("seen", 0)) > current_app.config["PUPIL_IDLE_MINUTES"] * 60:
        sign_out()
        return None
    session[RESULTS_KEY] = {**data, "seen": time.time()}
    return data["response_id"]
