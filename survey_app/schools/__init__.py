"""Leads' set-up of schools and pupils: the partnership view, pupil records, roster import."""

from flask import Blueprint

bp = Blueprint("schools", __name__, template_folder="templates", url_prefix="/staff/schools")

from . import import_routes, pupil_routes, routes  # noqa: E402,F401
