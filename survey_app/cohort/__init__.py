"""Cohort change for leads: the selection, the statistics, the charts and every export."""

from . import jobs  # noqa: F401  (its exports join the job queue)
from .routes import bp

__all__ = ["bp"]
