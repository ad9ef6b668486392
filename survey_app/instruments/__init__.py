"""Instruments: the questionnaire files a school uses, checked and stored (commands; the
loading and checking itself is the core's questionnaires package), and each one's
recorded audio and sign-language video (routes, operations, queries)."""

from .routes import bp

__all__ = ["bp"]
