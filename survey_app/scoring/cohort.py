"""Cohort change statistics from aggregates the database computes.

Paired data only (pupils present in both rounds). Inputs are counts, sums and sums of
squares of the paired differences, and for the Wilcoxon signed-rank test the sum of the
positive ranks and the tie term; outputs are plain numbers:

- mean change with a t-based confidence interval;
- the paired effect size Cohen's d_z (mean change / SD of the changes), with a
  confidence interval from the noncentral t distribution;
- the Wilcoxon signed-rank test (zeros dropped; exact for small samples without ties,
  else the normal approximation with the tie correction), as a check on the t test;
- Holm's step-down correction across factors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EXACT_WILCOXON_MAX_N = 25


@dataclass(frozen=True)
class PairedChange:
    n: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    sd_change: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    p: float | None
    dz: float | None
    dz_low: float | None
    dz_high: float | None


def paired_change(
    n: int, sum_before: float, sum_after: float, sum_diff: float, sum_diff_sq: float,
    confidence: float = 0.95,
) -> PairedChange:
    """Return the paired change from n and sums (before, after, difference, difference²).

    Statistics that need spread are None for n < 2; with zero spread the interval is
    the point itself and t, p and d_z are None (undefined).
    """
    if n < 1:
        return PairedChange(0, None, None, None, None, None, None, None, None, None, None, None)
    mean_d = sum_diff / n
    before, after = sum_before / n, sum_after / n
    if n < 2:
        return PairedChange(n, before, after, mean_d, None, None, None, None, None, None, None, None)
    variance = max(0.0, (sum_diff_sq - sum_diff * sum_diff / n) / (n - 1))
    sd = math.sqrt(variance)
    if sd == 0:
        return PairedChange(n, before, after, mean_d, 0.0, mean_d, mean_d, None, None, None, None, None)
    from scipy import special  # imported when first needed: scipy is slow to import

    se = sd / math.sqrt(n)
    df = n - 1
    # scipy.special's t functions are what scipy.stats.t calls, without its per-call overhead.
    crit = float(special.stdtrit(df, 0.5 + confidence / 2))
    t = mean_d / se
    p = float(2 * special.stdtr(df, -abs(t)))
    dz = mean_d / sd
    dz_low, dz_high = dz_interval(t, n, confidence)
    return PairedChange(n, before, after, mean_d, sd, mean_d - crit * se, mean_d + crit * se, t, p, dz,
                        dz_low, dz_high)


def dz_interval(t: float, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Return the confidence interval of d_z by inverting the noncentral t distribution."""
    from scipy import optimize, special

    df = n - 1
    lower_tail, upper_tail = 0.5 + confidence / 2, 0.5 - confidence / 2

    # Roughly the standard error of the noncentrality: the roots lie a couple of these from t.
    # (The search steps out from t instead of bracketing a wide fixed span: far out in the
    # tails nctdtr returns NaN, which stopped brentq and lost intervals it could have given.)
    step = math.sqrt(1 + t * t / (2 * df))

    def solve(target: float, direction: int) -> float | None:
        def f(ncp: float) -> float:
            return special.nctdtr(df, ncp, t) - target  # = scipy.stats.nct.cdf(t, df, ncp)

        near, f_near = t, f(t)
        for i in range(1, 61):
            far = t + direction * i * step
            f_far = f(far)
            if not math.isfinite(f_far) or not math.isfinite(f_near):
                return None
            if (f_far > 0) != (f_near > 0):
                try:
                    return optimize.brentq(f, min(near, far), max(near, far), xtol=1e-12)
                except ValueError:  # NaN inside the bracket: nctdtr cannot say here
                    return None
            near, f_near = far, f_far
        return None

    low, high = solve(lower_tail, -1), solve(upper_tail, +1)
    scale = math.sqrt(n)
    return (low / scale if low is not None else None, high / scale if high is not None else None)


@dataclass(frozen=True)
class WilcoxonResult:
    n: int  # pairs with a non-zero difference
    w_plus: float
    statistic: float  # min(W+, W-), as SciPy reports for the two-sided test
    z: float | None
    p: float | None
    method: str


def wilcoxon_signed_rank(n_nonzero: int, w_plus: float, tie_term: float) -> WilcoxonResult:
    """Return the two-sided Wilcoxon signed-rank test from ranks of |differences|.

    `w_plus` is the sum of the (average) ranks of the positive differences and
    `tie_term` the sum over tied groups of t**3 - t. Zeros must already be dropped.
    """
    n = n_nonzero
    if n == 0:
        return WilcoxonResult(0, 0.0, 0.0, None, None, "none")
    total = n * (n + 1) / 2
    w_minus = total - w_plus
    statistic = min(w_plus, w_minus)
    exact = n <= EXACT_WILCOXON_MAX_N and tie_term == 0 and float(w_plus).is_integer()
    if exact:
        counts = _signed_rank_counts(n)
        k = int(w_plus)
        all_ = 2 ** n
        cdf = sum(counts[: k + 1]) / all_
        sf = sum(counts[k:]) / all_
        p = min(1.0, 2 * min(cdf, sf))
        return WilcoxonResult(n, w_plus, statistic, None, p, "exact")
    mean = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - tie_term / 48
    if variance <= 0:
        return WilcoxonResult(n, w_plus, statistic, None, None, "approx")
    z = (w_plus - mean) / math.sqrt(variance)
    from scipy import special

    return WilcoxonResult(n, w_plus, statistic, z, float(2 * special.ndtr(-abs(z))), "approx")


def _signed_rank_counts(n: int) -> list[int]:
    # counts[w] = number of sign patterns of ranks 1..n whose positive ranks sum to w.
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for rank in range(1, n + 1):
        for w in range(top, rank - 1, -1):
            counts[w] += counts[w - rank]
    return counts


def wilcoxon_from_differences(differences: Sequence[float]) -> WilcoxonResult:
    """Return the test from raw differences (ranks computed here; for small samples and tests)."""
    nonzero = [d for d in differences if d != 0]
    order = sorted(range(len(nonzero)), key=lambda i: abs(nonzero[i]))
    ranks = [0.0] * len(nonzero)
    tie_term = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and abs(nonzero[order[j + 1]]) == abs(nonzero[order[i]]):
            j += 1
        average = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = average
        size = j - i + 1
        tie_term += size ** 3 - size
        i = j + 1
    w_plus = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    return wilcoxon_signed_rank(len(nonzero), w_plus, tie_term)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Return Holm step-down adjusted p-values (None stays None; capped at 1)."""
    indexed = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    indexed.sort()
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class ReliableShares:
    n: int
    improved: int
    unchanged: int
    declined: int


def reliable_shares(n: int, improved: int, declined: int) -> ReliableShares:
    """Return counts of reliable improvement, no reliable change and reliable decline."""
    return ReliableShares(n, improved, n - improved - declined, declined)
