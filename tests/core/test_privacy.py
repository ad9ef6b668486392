"""The privacy core: record keys, score offsets, the count perturbation table, statistic noise."""

from __future__ import annotations

import importlib.util
import statistics
from collections import Counter
from pathlib import Path

import pytest

from survey_app.privacy import disclosure, keys
from survey_app.privacy.disclosure import NONE, Protection, protect_count, protect_statistic, shown, total

ROOT = Path(__file__).resolve().parents[2]


def test_record_keys_are_random_and_long():
    drawn = {keys.new_record_key() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(0 <= k < 2**62 for k in drawn)
    assert max(drawn) > 2**60  # really 62 bits, not a small range


def test_score_offsets_are_fixed_normal_and_continuous():
    key = 123456789012345
    assert keys.score_offset(key, "self_regard", 3) == keys.score_offset(key, "self_regard", 3)
    offsets = [keys.score_offset(k, "self_regard", 1) for k in range(20000)]
    assert abs(statistics.mean(offsets)) < 1.0
    level, per_round = keys.offset_variance()
    assert statistics.pvariance(offsets) == pytest.approx(level + per_round, rel=0.05)
    # Within 5 points of zero only rarely: an offset alone hides where a score is.
    assert sum(abs(o) < 5 for o in offsets) / len(offsets) < 0.12
    # Continuous: no grid of values that would keep a score's fraction.
    assert len({round(o % 1, 3) for o in offsets}) > 900


def test_offsets_keep_a_part_at_every_round_and_change_the_rest():
    """Between two rounds a pupil's offset on a factor moves by the part new each round only."""
    moves = [keys.score_offset(k, "general_work_ethic", 2) - keys.score_offset(k, "general_work_ethic", 1)
             for k in range(5000)]
    _, per_round = keys.offset_variance()
    assert statistics.pvariance(moves) == pytest.approx(2 * per_round, rel=0.08)
    assert sum(abs(m) < 5 for m in moves) / len(moves) < 0.25  # a change is not given away either


def test_offsets_differ_between_factors_and_pupils():
    a = [keys.score_offset(7, f, 1) for f in ("a", "b", "c", "d", "e", "f")]
    b = [keys.score_offset(8, f, 1) for f in ("a", "b", "c", "d", "e", "f")]
    assert len(set(a)) > 2 and a != b


def test_migration_offsets_match():
    """Migration 0008 fills existing rows with the same offsets as privacy.keys."""
    path = next((ROOT / "migrations" / "versions").glob("*_record_keys.py"))
    spec = importlib.util.spec_from_file_location("record_keys_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for k in (0, 1, 2**61 + 12345, 98765432109876543):
        for factor, round_id in (("self_regard", 1), ("attitudes_to_teachers", 42)):
            expected = keys.score_offset(k, factor, round_id)
            assert module.offset(k, factor, round_id) == pytest.approx(expected, abs=1e-12)


def test_count_table_has_mean_zero_and_stays_within_two():
    assert sum(p for _, p in disclosure.COUNT_PTABLE) == pytest.approx(1.0)
    assert sum(n * p for n, p in disclosure.COUNT_PTABLE) == pytest.approx(0.0)
    noise = Counter(disclosure.count_noise(k * 2654435761 % 2**32) for k in range(20000))
    assert set(noise) == {-2, -1, 0, 1, 2}
    assert noise[0] / 20000 == pytest.approx(0.5, abs=0.02)


def test_protected_counts_are_consistent_and_never_small():
    p = Protection(3, 987654321)
    assert protect_count(40, p, 5) == protect_count(40, p, 5)  # the same set, the same count
    assert protect_count(40, NONE, 5) == 40  # unprotected: exact
    assert protect_count(0, p, 5) == 0 and protect_count(None, p, 5) is None
    assert all(protect_count(5, Protection(1, k * 2654435761 % 2**32), 5) >= 5 for k in range(500))
    assert {protect_count(100, Protection(1, k * 2654435761 % 2**32), 5) for k in range(500)} == set(range(98, 103))


def test_a_set_one_pupil_larger_gets_unrelated_noise():
    base = Protection(4, 1_000_000)
    pupil = Protection(1, keys.new_cell_key())
    assert (base + pupil) - pupil == base
    differences = Counter()
    for k in range(4000):
        one = Protection(1, k * 2654435761 % 2**32)
        differences[protect_count(50, base + one, 5) - protect_count(50, base, 5)] += 1
    # The difference of the two counts is not the 1 pupil that was added, most of the time.
    assert differences[1] < 0.4 * 4000


def test_total_of_parts():
    parts = [Protection(1, 2**32 - 1), Protection(2, 5)]
    assert total(parts) == Protection(3, 4)
    assert total([]) == NONE and not NONE


def test_statistic_noise_is_bounded_and_fixed():
    p = Protection(10, 4242)
    values = [protect_statistic(0.8, 0.05, Protection(10, k), "alpha", high=1.0) for k in range(2000)]
    assert all(0.75 <= v <= 0.85 for v in values)
    assert protect_statistic(0.8, 0.05, p, "alpha") == protect_statistic(0.8, 0.05, p, "alpha")
    assert protect_statistic(0.8, 0.05, NONE, "alpha") == 0.8
    assert protect_statistic(0.99, 0.05, Protection(1, 3), "alpha", high=1.0) <= 1.0


def test_sd_sensitivity_shrinks_with_the_cohort():
    small = disclosure.sd_sensitivity(30, 60.0, 15.0)
    large = disclosure.sd_sensitivity(3000, 60.0, 15.0)
    assert 0.5 < small < 5 and large < small / 50


def test_shown_rounds_only_protected_figures():
    assert shown(54.3456, "score", True) == 54.3 and shown(54.3456, "score", False) == 54.3456
    assert shown(0.00012, "p", Protection(1, 1)) == 0.0 and shown(None, "p", True) is None
    assert shown(0.8123, "effect", NONE) == 0.8123
