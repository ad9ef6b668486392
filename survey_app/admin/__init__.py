"""Administrators: staff accounts, roles, lock-outs and reset links; the audit log, subject
access and erasure of a pupil's data."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/staff/admin")

from . import data_routes, routes  # noqa: E402,F401
