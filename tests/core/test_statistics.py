"""Reliability, reliable change and data-quality checks: hand-computed and against pingouin."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.questionnaires import load_questionnaire
from survey_app.scoring.change import reliable_change, standard_error_of_difference
from survey_app.scoring.quality import quality_flags
from survey_app.scoring.reliability import alpha_from_moments, cronbach_alpha

ROOT = Path(__file__).resolve().parents[2]


def test_alpha_hand_computed():
    # Items [1,2,3], [2,3,3], [3,3,4], [4,4,4]: item variances 1.6667, 0.6667, 0.3333;
    # totals 6, 8, 10, 12 with variance 6.6667 -> alpha = 1.5 * (1 - 2.6667/6.6667) = 0.9
    rows = [[1, 2, 3], [2, 3, 3], [3, 3, 4], [4, 4, 4]]
    result = cronbach_alpha(rows)
    assert result.alpha == pytest.approx(0.9, abs=1e-12)
    assert (result.n, result.items) == (4, 3)


def test_alpha_edge_cases():
    assert cronbach_alpha([]).alpha is None
    assert cronbach_alpha([[1, 2, 3]]).alpha is None  # one pupil
    assert cronbach_alpha([[2, 2], [2, 2], [2, 2]]).alpha is None  # no spread at all
    with pytest.raises(ValueError):
        cronbach_alpha([[1, 2], [1]])
    with pytest.raises(ValueError):
        alpha_from_moments(3, [1.0], [1.0], 1.0, 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_alpha_equals_pingouin(seed):
    pd = pytest.importorskip("pandas")
    pg = pytest.importorskip("pingouin")
    rng = random.Random(seed)
    n, k = rng.randint(5, 300), rng.randint(2, 7)
    rows = []
    for _ in range(n):
        trait = rng.gauss(0, 1)
        rows.append([min(4, max(1, round(2.5 + trait + rng.gauss(0, 0.8)))) for _ in range(k)])
    expected = pg.cronbach_alpha(data=pd.DataFrame(rows))[0]
    assert cronbach_alpha(rows).alpha == pytest.approx(expected, abs=1e-9)


@settings(max_examples=50)
@given(st.lists(st.lists(st.integers(1, 4), min_size=3, max_size=3), min_size=2, max_size=40))
def test_alpha_is_at_most_one(rows):
    alpha = cronbach_alpha(rows).alpha
    assert alpha is None or alpha <= 1 + 1e-9


def test_rci_hand_computed():
    # SD 15, r 0.8: SE = 15 * sqrt(0.2) = 6.708; S_diff = 9.487; change 20 -> RCI 2.108
    assert standard_error_of_difference(15, 0.8) == pytest.approx(math.sqrt(2) * 15 * math.sqrt(0.2))
    rise = reliable_change(50, 70, 15, 0.8)
    assert rise.rci == pytest.approx(20 / (math.sqrt(2) * 15 * math.sqrt(0.2)))
    assert rise.verdict == "reliable rise" and rise.is_reliable
    assert reliable_change(70, 50, 15, 0.8).verdict == "reliable fall"
    assert reliable_change(50, 60, 15, 0.8).verdict == "within measurement error"
    assert reliable_change(50, 60, 0, 0.8).verdict == "unknown"
    assert reliable_change(50, 60, 15, 1.0).rci is None


SECONDARY = load_questionnaire(ROOT / "questionnaires/pass9-secondary.toml")


def test_straight_lining_and_speed_flags():
    answers = {s.id: 4 for s in SECONDARY.statements}
    kinds = {f.kind: f for f in quality_flags(SECONDARY, answers, seconds_spent=30)}
    assert "straight-lining" in kinds and "Yes, a lot" in kinds["straight-lining"].reason
    assert "too fast" in kinds and "30 seconds" in kinds["too fast"].reason
    assert quality_flags(SECONDARY, {}, seconds_spent=None) == []


def test_contradictory_pairs_flagged_with_their_statements():
    pairs = [s for s in SECONDARY.statements if s.pair]
    answers = {}
    for s in pairs[:2]:
        answers[s.pair] = 4  # "Yes, a lot" to the positive statement
        answers[s.id] = 4  # and to its reverse-worded opposite
    answers[pairs[2].pair], answers[pairs[2].id] = 4, 1  # consistent
    flags = quality_flags(SECONDARY, answers, seconds_spent=600)
    assert [f.kind for f in flags] == ["contradictory"]
    assert "2 pair(s)" in flags[0].reason and pairs[0].text in flags[0].reason
    one = {pairs[0].pair: 1, pairs[0].id: 1}
    assert quality_flags(SECONDARY, one, seconds_spent=600) == []


def test_considered_answers_have_no_flags():
    rng = random.Random(3)
    answers = {
        s.id: rng.choice([1, 2]) if s.reversed else rng.choice([2, 3, 4]) for s in SECONDARY.statements
    }
    assert quality_flags(SECONDARY, answers, seconds_spent=400) == []
