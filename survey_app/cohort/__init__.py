"""Cohort change analytics for leads: selection, statistics, charts and exports."""

from flask import Blueprint

bp = Blueprint("cohort", __name__, template_folder="templates", url_prefix="/staff/cohort")

from . import routes  # noqa: E402,F401
