"""Administrators: staff accounts, roles, lock-outs and reset links."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/staff/admin")

from . import routes  # noqa: E402,F401
