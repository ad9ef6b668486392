"""Pure scoring: hand-computed cases and properties (Hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey_app.questionnaires import load_questionnaire
from survey_app.scoring import band_for, is_scorable, rescale, score_answers

Q = load_questionnaire(Path(__file__).resolve().parents[1] / "data" / "mini.toml")
BANDS = ["concern", "low", "moderate", "positive"]


def by_factor(answers):
    return {r.factor: r for r in score_answers(Q, answers)}


def test_hand_computed_scores():
    # alpha: a1=4 -> 100, a2 reversed 2 -> 3 -> 66.67, a3=3 -> 66.67; mean 77.78
    r = by_factor({"a1": 4, "a2": 2, "a3": 3})["alpha"]
    assert r.score == pytest.approx(700 / 9)
    assert (r.items_answered, r.items_total, r.band) == (3, 3, "positive")
    # beta cut-offs 30/50/80: b1=2 -> 33.3, b2=1 -> 0, b3 reversed 4 -> 1 -> 0; mean 11.1
    r = by_factor({"b1": 2, "b2": 1, "b3": 4})["beta"]
    assert r.score == pytest.approx(100 / 9) and r.band == "concern"


def test_two_thirds_rule():
    results = by_factor({"a1": 4, "a2": 1, "g1": 3})
    assert results["alpha"].score == pytest.approx(100.0)
    assert results["alpha"].items_answered == 2
    assert results["gamma"].score is None and results["gamma"].band is None
    assert results["beta"].score is None and results["beta"].items_answered == 0
    assert is_scorable(4, 6) and not is_scorable(3, 6) and is_scorable(2, 3)
    assert not is_scorable(1, 3) and not is_scorable(0, 0)


def test_band_edges_belong_to_the_band_above():
    cut = [40.0, 55.0, 70.0]
    assert band_for(39.999, cut, BANDS) == "concern"
    assert band_for(40.0, cut, BANDS) == "low"
    assert band_for(55.0, cut, BANDS) == "moderate"
    assert band_for(70.0, cut, BANDS) == "positive"
    assert band_for(0.0, cut, BANDS) == "concern" and band_for(100.0, cut, BANDS) == "positive"
    with pytest.raises(ValueError):
        band_for(50.0, cut, BANDS[:3])


def test_refuses_unknown_statements_and_values():
    with pytest.raises(ValueError, match="not in mini-test"):
        score_answers(Q, {"zz": 3})
    with pytest.raises(ValueError, match="not on the scale"):
        score_answers(Q, {"a1": 5})
    with pytest.raises(ValueError):
        rescale(0, False, 1, 4)


values = st.sampled_from([1, 2, 3, 4])
answer_sets = st.dictionaries(st.sampled_from([s.id for s in Q.statements]), values)


@given(answer_sets)
def test_scores_are_in_range_and_bands_consistent(answers):
    for r in score_answers(Q, answers):
        if r.score is None:
            assert r.band is None
            assert 3 * r.items_answered < 2 * r.items_total
        else:
            assert 0.0 <= r.score <= 100.0
            factor = next(f for f in Q.factors if f.key == r.factor)
            assert r.band == band_for(r.score, factor.cutoffs, BANDS)


@given(answer_sets)
def test_reversing_every_answer_mirrors_the_score(answers):
    mirrored = {item: 5 - v for item, v in answers.items()}
    for a, b in zip(score_answers(Q, answers), score_answers(Q, mirrored), strict=True):
        if a.score is not None:
            assert a.score + b.score == pytest.approx(100.0)


@given(st.integers(1, 4), st.integers(1, 4))
def test_more_agreement_never_lowers_a_positive_item(low, high):
    if low <= high:
        assert rescale(low, False, 1, 4) <= rescale(high, False, 1, 4)
        assert rescale(low, True, 1, 4) >= rescale(high, True, 1, 4)
