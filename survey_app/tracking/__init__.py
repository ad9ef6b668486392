"""Tracking and interventions: attainment and attendance beside attitudes, the pupils each
pattern picks out and why, interventions for pupils and groups, and their impact."""

from . import import_routes, intervention_routes  # noqa: F401  (their pages join the blueprint)
from .routes import bp

__all__ = ["bp"]
