"""Answers to factor scores (0-100) and bands, by the rules in questionnaires/README.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..questionnaires import Questionnaire


@dataclass(frozen=True)
class FactorResult:
    """One factor of one response; `score` and `band` are None when too few answers."""

    factor: str
    score: float | None
    items_answered: int
    items_total: int
    band: str | None


def is_scorable(answered: int, total: int) -> bool:
    """Return True when at least two thirds of a factor's statements are answered."""
    # Integer arithmetic: 4 of 6 is exactly two thirds and must count.
    return total > 0 and 3 * answered >= 2 * total


def rescale(value: float, reversed_: bool, lo: int, hi: int) -> float:
    """Return an answer on 0-100, after reverse-scoring a negatively worded statement.

    Refuses (ValueError) a value outside lo..hi.
    """
    if not lo <= value <= hi or hi <= lo:
        raise ValueError(f"value {value} is outside the scale {lo}..{hi}")
    if reversed_:
        value = lo + hi - value
    return (value - lo) / (hi - lo) * 100.0


def band_for(score: float, cutoffs: Sequence[float], band_keys: Sequence[str]) -> str:
    """Return the band of a 0-100 score: below cutoffs[0] is the first band.

    A score equal to a cut-off belongs to the band above it.
    """
    if len(band_keys) != len(cutoffs) + 1:
        raise ValueError("there must be one more band than cut-offs")
    for cutoff, key in zip(cutoffs, band_keys, strict=False):
        if score < cutoff:
            return key
    return band_keys[-1]


def score_factor(
    points: Sequence[float], total: int, cutoffs: Sequence[float], band_keys: Sequence[str],
    factor: str = "",
) -> FactorResult:
    """Return the factor result from the 0-100 points of its answered statements."""
    if not is_scorable(len(points), total):
        return FactorResult(factor, None, len(points), total, None)
    score = sum(points) / len(points)
    return FactorResult(factor, score, len(points), total, band_for(score, cutoffs, band_keys))


def score_answers(q: Questionnaire, answers: Mapping[str, int]) -> list[FactorResult]:
    """Return one FactorResult per factor of `q`, in the questionnaire's order.

    Refuses (ValueError) an answer to a statement not in `q` or a value not on its scale.
    """
    unknown = set(answers) - q.statement_ids
    if unknown:
        raise ValueError(f"answers to statements not in {q.key}: {sorted(unknown)}")
    values = q.scale_values
    for item, value in answers.items():
        if value not in values:
            raise ValueError(f"answer {value!r} to {item} is not on the scale")
    lo, hi = q.scale_min, q.scale_max
    band_keys = [b.key for b in q.bands]
    results = []
    for factor in q.factors:
        statements = q.statements_of(factor.key)
        points = [
            rescale(answers[s.id], s.reversed, lo, hi) for s in statements if s.id in answers
        ]
        results.append(score_factor(points, len(statements), factor.cutoffs, band_keys, factor.key))
    return results
