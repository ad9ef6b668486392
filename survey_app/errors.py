"""One place for error pages: friendly words in the app's look, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from .db import db
from .security import no_store

log = logging.getLogger(__name__)

# Lazy: each page shows them in its own language (pupil pages through their catalogs).
MESSAGES = {
    400: (_l("Something was not right"), _l("The page could not use what was sent. Please go back and try again.")),
    401: (_l("Signed out"), _l("You have been signed out. Sign in again with your code.")),
    403: (_l("Not allowed"), _l("You do not have permission to do that.")),
    404: (_l("Page not found"), _l("We could not find that page. Check the address, or go back and try again.")),
    405: (_l("Not allowed"), _l("That page cannot be used like that.")),
    409: (_l("No more answers can be saved"), _l("This survey has closed or is already finished. "
                                                 "The answers you gave are kept.")),
    413: (_l("Too much sent"), _l("That was too large to accept. Nothing was changed.")),
    429: (_l("Too many tries"), _l("Please wait a minute before trying again, or ask your teacher for help.")),
    500: (
        _l("Something went wrong"),
        _l("Sorry, something went wrong on our side. Nothing you saved has been lost. Please try again."),
    ),
    503: (
        _l("Please wait a moment"),
        _l("The survey cannot reach its database just now. Your saved answers are safe. "
           "Please try again in a minute."),
    ),
}


# PostgreSQL states that mean "the database cannot take writes just now" but arrive as
# errors other than OperationalError: a read-only transaction (a replica, or a database
# set read-only during an incident). A 503 tells the survey page to keep and re-send.
CANNOT_WRITE_NOW = {"25006"}


def wants_json() -> bool:
    """Return True for the autosave API and clients that ask for JSON."""
    if request.path.startswith("/survey/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    accept = request.accept_mimetypes
    return best == "application/json" and accept[best] > accept["text/html"]


def error_response(status: int, message: str | None = None):
    """Return an error page (or JSON) for `status`, with `message` in plain words."""
    title, default = MESSAGES.get(status, MESSAGES[500])
    # (a message given in English is shown in the page's language when a catalog has it)
    title, text = str(title), gettext(str(message)) if message else str(default)
    if wants_json():
        resp = jsonify(error=title, message=text, status=status)
    else:
        if status >= 500 and "_login_user" not in g:
            # Rendering would load the signed-in staff member for the page, from the
            # database that may be what failed: render this page as signed out instead.
            g._login_user = current_app.login_manager.anonymous_user()
        # Staff pages keep their header and navigation; a server or database fault gets the
        # plain page, which needs nothing from the database to render.
        staff_look = request.path.startswith("/staff") and status < 500
        # An address no page has, from a pupil who chose a language: the page in it.
        language = g.get("pupil_language") if request.blueprint is None and not staff_look else None
        direction = {"page_lang": language.page, "page_dir": language.page_direction} if language else {}
        resp = render_template("errors/error.html", title=title, message=text, status=status,
                               staff_look=staff_look, **direction)
        from flask import make_response

        resp = make_response(resp)
    resp.status_code = status
    return no_store(resp)


def register_error_handlers(app: Flask) -> None:
    """Install handlers for HTTP errors, CSRF failures and database faults."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(
            400,
            _l("This page had expired or was opened from somewhere else, so nothing was changed. "
               "Please go back, reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        message = None
        if exc.code in (400, 503) and exc.description and exc.description != type(exc).description:
            message = exc.description
        return error_response(exc.code, message)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.warning("database unavailable: %s", getattr(exc, "orig", exc))
        db.session.rollback()
        return error_response(503)

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError):
        if getattr(getattr(exc, "orig", None), "sqlstate", None) in CANNOT_WRITE_NOW:
            return _database_down(exc)
        log.exception("database error")
        db.session.rollback()
        return error_response(500)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(exc: Exception):
        # A value the database cannot hold, sent in a URL or a form (an id past a PostgreSQL
        # integer, past SQLite's 64 bits, a date past year 9999): bad input, not a fault of ours.
        log.warning("value out of range: %s", getattr(exc, "orig", exc))
        db.session.rollback()
        return error_response(400, _l("A number or date in what was sent is too large to use. "
                                       "Nothing was changed."))

    @app.errorhandler(InternalServerError)
    def _internal(exc):
        db.session.rollback()
        return error_response(500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        db.session.rollback()
        return error_response(500)
