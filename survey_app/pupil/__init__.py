"""The pupil's survey: sign in with a code, answer, resume, finish."""

from flask import Blueprint

bp = Blueprint("pupil", __name__, template_folder="templates")

from . import routes  # noqa: E402,F401
