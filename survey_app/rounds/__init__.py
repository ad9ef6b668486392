"""Survey rounds: setting them up, access codes and slips, paper answers, live completion."""

from flask import Blueprint

bp = Blueprint("rounds", __name__, template_folder="templates", url_prefix="/staff/rounds")

from . import live, paper, routes  # noqa: E402,F401
