"""The pupil's "always show signing" choice, made on the start page and kept in the
pupil's part of the session (so it ends with the sign-in, like everything else there)."""

from __future__ import annotations

from flask import session

from . import state

CHOICE = "always_sign"


def remember(always: bool) -> None:
    """Keep the choice for this sign-in (call after state.sign_in)."""
    data = dict(session.get(state.KEY) or {})
    data[CHOICE] = bool(always)
    session[state.KEY] = data


def always_shown() -> bool:
    """Return True when the signed-in pupil asked to see signing open beside each statement."""
    data = session.get(state.KEY)
    return isinstance(data, dict) and bool(data.get(CHOICE))
