"""Custom pupil flags: leads define them ("mentored", "gifted and talented") and set them on pupils."""

from flask import Blueprint

bp = Blueprint("flags", __name__, template_folder="templates", url_prefix="/staff/flags")

from . import members, routes  # noqa: E402,F401
