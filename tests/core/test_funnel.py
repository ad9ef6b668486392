"""Funnel-plot limits and school intervals against hand-worked figures."""

from __future__ import annotations

import math

import pytest

from survey_app.scoring.funnel import difference_interval, funnel_limits, mean_interval, outside, z_of


def test_funnel_limits_match_a_hand_worked_example():
    # Authority mean 60, SD 20; a school of 25 pupils: standard error 20/5 = 4.
    # 95%: 60 ± 1.959964 × 4 = 60 ± 7.839856; 99.8%: 60 ± 3.090232 × 4 = 60 ± 12.360929.
    (at25,) = funnel_limits(60.0, 20.0, [25], 0.95)
    assert at25.lower == pytest.approx(52.160144, abs=1e-5)
    assert at25.upper == pytest.approx(67.839856, abs=1e-5)
    (wide,) = funnel_limits(60.0, 20.0, [25], 0.998)
    assert wide.lower == pytest.approx(47.639071, abs=1e-5)
    assert wide.upper == pytest.approx(72.360929, abs=1e-5)
    # n = 100: standard error 2, so the 95% limits are 60 ± 3.919928.
    (at100,) = funnel_limits(60.0, 20.0, [100], 0.95)
    assert (at100.lower, at100.upper) == pytest.approx((56.080072, 63.919928), abs=1e-5)
    assert z_of(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_of(0.998) == pytest.approx(3.090232, abs=1e-6)


def test_a_small_school_far_from_the_mean_stays_inside_and_a_large_one_does_not():
    (small,) = funnel_limits(60.0, 20.0, [4], 0.998)  # 60 ± 30.9
    (large,) = funnel_limits(60.0, 20.0, [400], 0.998)  # 60 ± 3.09
    assert not outside(40.0, small)
    assert outside(55.0, large) and not outside(58.0, large)


def test_limits_stay_on_the_scale_and_refuse_nonsense():
    (tiny,) = funnel_limits(95.0, 30.0, [1], 0.998)
    assert tiny.upper == 100.0 and tiny.lower == pytest.approx(95 - 3.090232 * 30, abs=1e-4)
    with pytest.raises(ValueError):
        funnel_limits(60.0, 20.0, [0], 0.95)
    with pytest.raises(ValueError):
        funnel_limits(60.0, -1.0, [5], 0.95)


def test_mean_interval_by_hand():
    # 50, 60, 70: mean 60, SD 10; t(0.975, 2) = 4.302653, half-width 4.302653 × 10 / √3 = 24.8414.
    mean, sd, lower, upper = mean_interval(3, 180.0, 50 * 50 + 60 * 60 + 70 * 70)
    assert (mean, sd) == pytest.approx((60.0, 10.0))
    assert (lower, upper) == pytest.approx((35.1586, 84.8414), abs=1e-4)
    assert mean_interval(1, 50.0, 2500.0) == (50.0, None, None, None)


def test_difference_interval_is_welch():
    # Equal SDs 10 and n 10 each: se = √(10 + 10) = 4.4721, df = 18, t = 2.100922.
    diff, lower, upper = difference_interval(50.0, 10.0, 10, 56.0, 10.0, 10)
    assert diff == 6.0
    assert (lower, upper) == pytest.approx((6 - 2.100922 * math.sqrt(20), 6 + 2.100922 * math.sqrt(20)), abs=1e-4)
