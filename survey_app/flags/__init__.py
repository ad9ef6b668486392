"""Pupil flags that leads define (“Mentored”), set on pupils and use to select cohorts."""

from . import members  # noqa: F401  (their pages join the blueprint)
from .routes import bp

__all__ = ["bp"]
