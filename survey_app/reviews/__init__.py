"""Using results with pupils and families (staff): what a round shares, conversation
sheets and family summaries, targets and their ladders, review days, letters to families,
withdrawals, and pupil-voice comments for the safeguarding lead."""

from . import (  # noqa: F401  (their pages join the blueprint; its jobs the queue)
    day_routes,
    jobs,
    sheet_routes,
    target_routes,
    voice_routes,
    withdrawal_routes,
)
from .routes import bp

__all__ = ["bp"]
