"""The authority (or trust) view: every school beside the others, aggregates only."""

from .routes import bp

__all__ = ["bp"]
