"""Cohort statistics from aggregates, equal to SciPy's and pingouin's to 1e-9."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from survey_app.scoring.cohort import (
    holm,
    paired_change,
    wilcoxon_from_differences,
    wilcoxon_signed_rank,
)


def sums(before, after):
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    return len(diffs), sum(before), sum(after), sum(diffs), sum(d * d for d in diffs)


def sample(seed, n, shift=5.0, sd=12.0, integer=False):
    rng = random.Random(seed)
    before = [rng.gauss(60, 15) for _ in range(n)]
    after = [b + rng.gauss(shift, sd) for b in before]
    if integer:
        before = [round(b / 100 * 12) * 100 / 12 for b in before]
        after = [round(a / 100 * 12) * 100 / 12 for a in after]
    return before, after


@pytest.mark.parametrize("seed, n", [(1, 2), (2, 3), (3, 12), (4, 40), (5, 300), (6, 2500)])
def test_paired_t_and_ci_equal_scipy(seed, n):
    before, after = sample(seed, n)
    result = paired_change(*sums(before, after))
    expected = stats.ttest_rel(after, before)
    assert result.t == pytest.approx(expected.statistic, abs=1e-9, rel=1e-9)
    assert result.p == pytest.approx(expected.pvalue, abs=1e-9)
    ci = expected.confidence_interval(0.95)
    assert result.ci_low == pytest.approx(ci.low, abs=1e-9)
    assert result.ci_high == pytest.approx(ci.high, abs=1e-9)
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    assert result.dz == pytest.approx(stats.tmean(diffs) / stats.tstd(diffs), abs=1e-9)


def test_dz_interval_matches_noncentral_t():
    before, after = sample(7, 30)
    r = paired_change(*sums(before, after))
    # At the lower limit the observed t sits at the 97.5th percentile, and vice versa.
    assert stats.nct.cdf(r.t, 29, r.dz_low * math.sqrt(30)) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(r.t, 29, r.dz_high * math.sqrt(30)) == pytest.approx(0.025, abs=1e-9)
    assert r.dz_low < r.dz < r.dz_high


@pytest.mark.parametrize("n", [3, 5, 30, 271, 5000, 100000])
@pytest.mark.parametrize("t", [-40.0, -11.5, -2.0, 0.0, 0.7, 10.0, 11.5, 12.5, 40.0])
def test_dz_interval_is_found_for_large_effects_too(n, t):
    """A wide fixed bracket met NaN far in nctdtr's tails and lost the interval (e.g. 271
    pupils with d_z 0.7, seen on the cohort page); the search steps out from t instead."""
    from survey_app.scoring.cohort import dz_interval

    low, high = dz_interval(t, n)
    assert low is not None and high is not None
    assert stats.nct.cdf(t, n - 1, low * math.sqrt(n)) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t, n - 1, high * math.sqrt(n)) == pytest.approx(0.025, abs=1e-9)
    assert low < t / math.sqrt(n) < high


def test_edge_cases_one_pupil_two_pupils_zero_variance():
    assert paired_change(0, 0, 0, 0, 0).mean_change is None
    one = paired_change(1, 50, 60, 10, 100)
    assert one.mean_change == 10 and one.ci_low is None and one.p is None
    two = paired_change(*sums([50, 60], [55, 70]))
    assert two.n == 2 and two.ci_low < two.mean_change < two.ci_high
    same = paired_change(*sums([50, 60, 70], [55, 65, 75]))  # every pupil +5: no spread
    assert same.mean_change == 5 and same.sd_change == 0 and same.t is None and same.dz is None
    flat = paired_change(*sums([50, 60], [50, 60]))
    assert flat.mean_change == 0 and flat.p is None


@pytest.mark.parametrize("seed, n", [(1, 8), (2, 20), (3, 60), (4, 400)])
def test_wilcoxon_approx_with_ties_equals_scipy(seed, n):
    before, after = sample(seed, n, integer=True)
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    ours = wilcoxon_from_differences(diffs)
    if ours.method == "exact":
        expected = stats.wilcoxon(diffs, zero_method="wilcox", method="exact")
    else:
        expected = stats.wilcoxon(diffs, zero_method="wilcox", correction=False, method="approx")
    assert ours.statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert ours.p == pytest.approx(expected.pvalue, abs=1e-9)


@pytest.mark.parametrize("seed, n", [(11, 5), (12, 10), (13, 25)])
def test_wilcoxon_exact_equals_scipy(seed, n):
    rng = random.Random(seed)
    diffs = [rng.choice([-1, 1]) * (i + 1 + rng.random() / 10) for i in range(n)]
    ours = wilcoxon_from_differences(diffs)
    expected = stats.wilcoxon(diffs, method="exact")
    assert ours.method == "exact"
    assert ours.statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert ours.p == pytest.approx(expected.pvalue, abs=1e-9)


def test_wilcoxon_from_database_style_aggregates():
    assert wilcoxon_signed_rank(0, 0, 0).p is None
    r = wilcoxon_signed_rank(30, 300.5, 6.0)
    assert r.method == "approx" and 0 < r.p < 1


def test_holm_equals_pingouin():
    pg = pytest.importorskip("pingouin")
    pvalues = [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.0001, 0.049, 0.7]
    reject, expected = pg.multicomp(pvalues, method="holm")
    ours = holm(pvalues)
    for a, b in zip(ours, expected, strict=True):
        assert a == pytest.approx(b, abs=1e-9)
    assert holm([0.01, None, 0.04]) == [pytest.approx(0.02), None, pytest.approx(0.04)]
    assert holm([0.9, 0.8]) == [1.0, 1.0]
