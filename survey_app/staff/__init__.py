"""The staff home page: what needs attention now, for each role."""

from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates", url_prefix="/staff")

from . import routes  # noqa: E402,F401
