"""Using results with pupils and families (staff): what a round shares, conversation
sheets and family summaries, targets and their ladders, review days, letters to families,
withdrawals, and pupil-voice comments for the safeguarding lead."""

from . import day_routes, sheet_routes, target_routes, voice_routes, withdrawal_routes  # noqa: F401  (pages)
from .routes import bp

__all__ = ["bp"]
