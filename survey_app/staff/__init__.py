"""The staff home page: what needs attention now, for each role."""

from .routes import bp

__all__ = ["bp"]
