"""Security headers on every response, no-store on pupil and staff pages, no NUL
characters in what a request sends, the nesting check of JSON bodies, and the CSRF check
of the autosave API."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request, session
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


STAFF_PREFIX = "/staff"


def register_security_headers(app: Flask) -> None:
    """Add CSP, framing, sniffing and referrer headers to every response."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: over HTTPS the CSRF check (Flask-WTF's strict
        # mode) refuses a POST without a same-site Referer; other sites still get none.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path.startswith(STAFF_PREFIX):
            # A shared school computer: after sign-out, Back must show nothing of a pupil.
            no_store(response)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


NUL_MESSAGE = ("What was sent contains a character that cannot be used (a NUL character, often from "
               "copying out of another program). Remove it and try again. Nothing was changed.")


def register_input_checks(app: Flask) -> None:
    """Refuse (400) a request whose path, query or form fields contain a NUL character.

    PostgreSQL cannot store one (a 500 on every write or search), and SQLite's LIKE stops
    at one (a search for "\\x00x" matched every pupil); no field ever needs it. Uploaded
    files and JSON bodies are checked by the code that reads them.
    """

    @app.before_request
    def _refuse_nul():
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for source in (request.args, request.form) for key, values in source.lists()
        ):
            abort(400, NUL_MESSAGE)


def no_store(response: Response) -> Response:
    """Return `response` marked so no browser or proxy keeps a copy (shared computers)."""
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["Expires"] = "0"
    return response


# ----- JSON bodies -------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def json_too_deep(body: bytes, max_depth: int) -> bool:
    """Return True when the JSON text `body` nests arrays and objects deeper than `max_depth`.

    Python's JSON parser recurses once per level and fails with RecursionError (a 500)
    somewhere below a thousand levels, so bodies are measured before they are parsed, by
    a loop, not by recursion. A body with no more brackets than `max_depth` cannot nest
    deeper, which settles nearly every request with two byte counts.
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    # Brackets inside strings do not nest: drop the strings, then keep only brackets.
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in _OPENING else -1
        if depth > max_depth:
            return True
    return False


# ----- CSRF for a page's script --------------------------------------------------------

# The autosave API is exempt from Flask-WTF's check on every POST and calls this instead:
# the same token (X-CSRFToken, from the page's meta tag) and the same rules, but a token
# verified for this session is remembered for a minute, so a pupil's fiftieth save does
# not verify its signature again. The time limit still applies, a minute late at most.
VERIFIED_FOR_SECONDS = 60.0
_VERIFIED_MAX = 20_000
_verified: dict[tuple[str, str], float] = {}


def check_script_csrf() -> None:
    """Raise CSRFError (400) unless the request carries this session's CSRF token."""
    token = request.headers.get("X-CSRFToken", "")
    raw = session.get("csrf_token")
    now = time.monotonic()
    key = (token, raw if isinstance(raw, str) else "")
    if not (token and key[1] and _verified.get(key, 0.0) > now):
        try:
            validate_csrf(token)
        except ValidationError as exc:
            raise CSRFError(exc.args[0]) from exc
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = now + VERIFIED_FOR_SECONDS
    if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
        referrer = urlsplit(request.referrer or "")
        if (referrer.scheme, referrer.netloc) != ("https", request.host):
            raise CSRFError("The referrer is missing or does not match the host.")
