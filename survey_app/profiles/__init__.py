"""Teachers' views: the group heatmap and each pupil's learning profile."""

from flask import Blueprint

bp = Blueprint("profiles", __name__, template_folder="templates", url_prefix="/staff")

from . import routes  # noqa: E402,F401
