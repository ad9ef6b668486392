"""Cohort change analytics for leads: selection, statistics, charts and exports."""

from flask import Blueprint

bp = Blueprint("cohort", __name__, template_folder="templates", url_prefix="/staff/cohort")


@bp.teardown_request
def _give_back_memory(_exc):
    # A report is tens of megabytes for a moment: hand what was freed back to the system.
    from ..memory import trim

    trim()

from . import routes  # noqa: E402,F401
