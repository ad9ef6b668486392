"""Groups (programmes or classes) that may mix schools and year groups."""

from flask import Blueprint

bp = Blueprint("groups", __name__, template_folder="templates", url_prefix="/staff/groups")

from . import members, routes  # noqa: E402,F401
