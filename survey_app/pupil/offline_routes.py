"""The survey on an unreliable network and a shared computer: the service worker that
keeps the current survey's pages, and clearing what a pupil leaves in the browser.

The worker is served from the top of the site so that its scope covers the pupil pages;
it keeps pages only after sign-in, for the survey being answered (static/js/survey-sw.js).
Signing out, "Finish for now", the idle sign-out and finishing answer with
Clear-Site-Data ("cache": the browser's copies and its back-forward cache), and the page
that follows runs survey-cleanup.js, which deletes the worker's caches and the pupil's
stored answers once they are sent.
"""

from __future__ import annotations

from flask import current_app, request, send_from_directory

from . import signing
from .routes import bp

LEAVING_ENDPOINTS = {"pupil.sign_out", "pupil.finish", "pupil.signed_out", "pupil.thanks"}


@bp.get("/survey-sw.js")
def service_worker():
    """The service worker script (no-store like every pupil response, so a new one is seen at once)."""
    response = send_from_directory(current_app.static_folder, "js/survey-sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.after_request
def _clear_site_data(response):
    if request.endpoint in LEAVING_ENDPOINTS and response.status_code < 400:
        response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.app_context_processor
def _signing_choice():
    return {"always_sign": signing.always_shown()}
