"""Local norms: percentiles of factor scores, and where one score stands among them.

A norm cell keeps the score at each of NORM_PERCENTILES (5, 10, ..., 95) of a reference
group's scores, by linear interpolation between order statistics (the method numpy's
`percentile` uses by default, Hyndman and Fan's type 7). The extreme percentiles (1, 99,
the minimum and the maximum) are not kept: they would be one pupil's score.

Pure code: numbers in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NORM_PERCENTILES: tuple[int, ...] = tuple(range(5, 100, 5))


def percentile(sorted_scores: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0..100) of scores sorted in ascending order, by linear
    interpolation (type 7). Refuses (ValueError) an empty list or q outside 0..100."""
    if not sorted_scores:
        raise ValueError("no scores")
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    position = (len(sorted_scores) - 1) * q / 100
    below = math.floor(position)
    above = min(below + 1, len(sorted_scores) - 1)
    fraction = position - below
    return sorted_scores[below] + (sorted_scores[above] - sorted_scores[below]) * fraction


def norm_points(scores: Sequence[float], percentiles: Sequence[int] = NORM_PERCENTILES,
                digits: int = 1) -> list[float]:
    """Return the score at each percentile of `scores`, rounded to `digits`."""
    ordered = sorted(float(s) for s in scores)
    return [round(percentile(ordered, q), digits) for q in percentiles]


def percentile_rank(score: float, points: Sequence[float],
                    percentiles: Sequence[int] = NORM_PERCENTILES) -> tuple[str, int]:
    """Return where `score` stands among a norm cell's points: ("below", 5) under the
    lowest kept percentile, ("above", 95) over the highest, else ("at", p) with p the
    percentile interpolated between the two points around the score (whole number)."""
    if score < points[0]:
        return "below", percentiles[0]
    if score > points[-1]:
        return "above", percentiles[-1]
    equal = [p for p, v in zip(percentiles, points, strict=True) if v == score]
    if equal:  # a plateau of equal scores: its middle
        return "at", round((equal[0] + equal[-1]) / 2)
    for i in range(len(points) - 1):
        lo, hi = points[i], points[i + 1]
        if lo < score < hi:
            return "at", round(percentiles[i] + (percentiles[i + 1] - percentiles[i]) * (score - lo) / (hi - lo))
    return "at", percentiles[-1]
