"""School means beside each other: confidence intervals and funnel-plot control limits.

A funnel plot shows each school's mean against its number of pupils, with control limits
around the overall (authority) mean that narrow as n grows: mean ± z·SD/√n, with z for
95% (1.96) and 99.8% (3.09) two-sided. A small school far from the mean by chance stays
inside its wide limits, so it is not singled out (Spiegelhalter, "Funnel plots for
comparing institutional performance", Statistics in Medicine 2005).

Pure code: numbers in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from scipy.stats import t as student_t

# The two funnels drawn, as two-sided coverage.
LEVELS = (0.95, 0.998)


def z_of(level: float) -> float:
    """Return the two-sided normal quantile for coverage `level` (1.95996 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


@dataclass(frozen=True)
class Limits:
    n: int
    level: float
    lower: float
    upper: float


def funnel_limits(centre: float, sd: float, ns: Sequence[int], level: float,
                  low: float = 0.0, high: float = 100.0) -> list[Limits]:
    """Return the control limits at each n: centre ± z(level)·sd/√n, kept within [low, high].

    Refuses (ValueError) an n below 1 or a negative SD.
    """
    if sd < 0:
        raise ValueError("the SD must not be negative")
    z = z_of(level)
    out = []
    for n in ns:
        if n < 1:
            raise ValueError("every n must be at least 1")
        half = z * sd / math.sqrt(n)
        out.append(Limits(n, level, max(low, centre - half), min(high, centre + half)))
    return out


def funnel_curve(centre: float, sd: float, n_max: int, level: float, points: int = 60) -> list[Limits]:
    """Return limits at n spread from 2 to n_max (geometrically), to draw the funnel's edges."""
    n_max = max(3, n_max)
    ns = sorted({max(2, round(2 * (n_max / 2) ** (i / (points - 1)))) for i in range(points)})
    return funnel_limits(centre, sd, ns, level)


def outside(mean: float, limits: Limits) -> bool:
    """True when a school's mean lies outside its control limits."""
    return mean < limits.lower or mean > limits.upper


def mean_interval(n: int, total: float, total_sq: float, confidence: float = 0.95
                  ) -> tuple[float, float | None, float | None, float | None]:
    """Return (mean, SD, lower, upper) of n scores from their sum and sum of squares, with a
    t-based interval; SD and interval are None for fewer than two scores."""
    mean = total / n
    if n < 2:
        return mean, None, None, None
    sd = math.sqrt(max(0.0, (total_sq - total * total / n) / (n - 1)))
    half = float(student_t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def interval_for(mean: float, sd: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Return the t-based interval of a mean of n scores with this SD."""
    half = float(student_t.ppf(0.5 + confidence / 2, max(1, n - 1))) * sd / math.sqrt(n)
    return mean - half, mean + half


def difference_interval(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int,
                        confidence: float = 0.95) -> tuple[float, float, float]:
    """Return (b - a, lower, upper) for two independent means (Welch's interval)."""
    va, vb = sd_a * sd_a / n_a, sd_b * sd_b / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return mean_b - mean_a, mean_b - mean_a, mean_b - mean_a
    df = (va + vb) ** 2 / ((va * va) / max(1, n_a - 1) + (vb * vb) / max(1, n_b - 1))
    half = float(student_t.ppf(0.5 + confidence / 2, df)) * se
    diff = mean_b - mean_a
    return diff, diff - half, diff + half
