"""Pupils: sign in with a printed code, confirm, answer with every answer saved, finish."""

from . import offline_routes  # noqa: F401  (the service worker and clearing joins bp)
from .routes import bp

__all__ = ["bp"]
