"""Cronbach's alpha: how consistently a factor's statements measure one thing.

Computed on complete cases (pupils who answered every statement of the factor), from
raw rows or from the sums the database aggregates. Sample variances (n - 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AlphaResult:
    """alpha is None when it cannot be computed (fewer than 2 pupils or no spread)."""

    alpha: float | None
    n: int
    items: int


def _variance(total: float, total_sq: float, n: int) -> float:
    return (total_sq - total * total / n) / (n - 1)


def alpha_from_moments(
    n: int, item_sums: Sequence[float], item_sumsq: Sequence[float], total_sum: float,
    total_sumsq: float,
) -> AlphaResult:
    """Return alpha from n, per-item sums and sums of squares, and the same for row totals.

    Refuses (ValueError) fewer than two items or mismatched lengths.
    """
    k = len(item_sums)
    if k < 2 or len(item_sumsq) != k:
        raise ValueError("alpha needs at least two items, each with a sum and a sum of squares")
    if n < 2:
        return AlphaResult(None, n, k)
    item_var = sum(_variance(s, sq, n) for s, sq in zip(item_sums, item_sumsq, strict=True))
    total_var = _variance(total_sum, total_sumsq, n)
    if total_var <= 0:
        return AlphaResult(None, n, k)
    return AlphaResult(k / (k - 1) * (1 - item_var / total_var), n, k)


def cronbach_alpha(rows: Sequence[Sequence[float]]) -> AlphaResult:
    """Return alpha for complete rows (one row per pupil, one column per statement).

    Refuses (ValueError) rows of different lengths or fewer than two columns.
    """
    if not rows:
        return AlphaResult(None, 0, 0)
    k = len(rows[0])
    if any(len(r) != k for r in rows):
        raise ValueError("every row must answer the same statements")
    # Centre on the first row to keep the sums of squares well conditioned.
    shift = list(rows[0])
    centred = [[v - s for v, s in zip(r, shift, strict=True)] for r in rows]
    sums = [sum(col) for col in zip(*centred, strict=True)]
    sumsq = [sum(v * v for v in col) for col in zip(*centred, strict=True)]
    totals = [sum(r) for r in centred]
    return alpha_from_moments(len(rows), sums, sumsq, sum(totals), sum(t * t for t in totals))


MAX_CODE = 2**62


def encode_items(values: Sequence[int], lo: int, hi: int) -> int | None:
    """Pack one pupil's complete answers to a factor (after reverse-scoring, in statement
    order) into one integer: statement i is digit i in base (hi - lo + 1).

    Stored with the factor score, it lets the database sum each statement's values over a
    cohort from the scores table alone (Cronbach's alpha without reading every answer).
    None when the code would not fit in a 63-bit integer. Refuses (ValueError) a value
    outside lo..hi.
    """
    base = hi - lo + 1
    if base ** len(values) >= MAX_CODE:
        return None
    code = 0
    for i, value in enumerate(values):
        if not lo <= value <= hi:
            raise ValueError(f"value {value} is outside the scale {lo}..{hi}")
        code += (value - lo) * base ** i
    return code


def decode_items(code: int, k: int, lo: int, hi: int) -> list[int]:
    """Return the k values packed by encode_items."""
    base = hi - lo + 1
    return [(code // base ** i) % base + lo for i in range(k)]
