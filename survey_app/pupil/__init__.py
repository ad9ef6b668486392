"""Pupils: sign in with a printed code, confirm, answer with every answer saved, finish."""

from .routes import bp

__all__ = ["bp"]
