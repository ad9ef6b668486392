"""Cohort change for leads: the selection, the statistics, the charts and every export."""

from .routes import bp

__all__ = ["bp"]
