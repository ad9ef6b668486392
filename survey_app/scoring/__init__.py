"""Pure scoring and statistics: no Flask, no database, plain numbers in and out."""

from .factors import FactorResult, band_for, is_scorable, rescale, score_answers, score_factor

__all__ = ["FactorResult", "band_for", "is_scorable", "rescale", "score_answers", "score_factor"]
