"""Teachers' views: a group's heatmap and each pupil's learning profile, with the support log."""

from .routes import bp

__all__ = ["bp"]
