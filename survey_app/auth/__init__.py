"""Staff sign-in, sign-out, password change and one-time reset links."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates", url_prefix="/staff")

from . import routes  # noqa: E402,F401
