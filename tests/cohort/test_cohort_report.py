"""The cohort change report from the database, checked against SciPy and pingouin on the
same stored scores, with the edge cases and the suppression rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
import sqlalchemy as sa
from scipy import stats

from survey_app.accounts.scope import Scope
from survey_app.cohort.build import CohortError, cohort_report
from survey_app.cohort.selection import CohortSelection, Split
from survey_app.db import db
from survey_app.models.base import utcnow
from tests.cohort_data import add_pupils, add_rounds, answer, fill, item_rows, random_answers, scores_by_pupil


def report_for(world, rounds, user=None, threshold=5, **selection):
    user = user or world.admin
    sel = CohortSelection(round_ids=tuple(r.id for r in rounds), **selection)
    return cohort_report(db.session, Scope(user), sel, utcnow(), threshold)


@pytest.fixture
def cohort(staff_world):
    rounds = add_rounds(staff_world)
    pupils = add_pupils(staff_world, 44)
    fill(staff_world, rounds, pupils, seed=7, attendance=0.9)
    return staff_world, rounds, pupils


def test_statistics_equal_scipy_and_pingouin(cohort):
    world, rounds, _ = cohort
    report = report_for(world, rounds)
    before = scores_by_pupil(rounds[0].id)
    for comp, later in zip(report.main.comparisons, rounds[1:], strict=True):
        after = scores_by_pupil(later.id)
        p_t, p_w = [], []
        for c in comp.factors:
            keys = sorted(k for k in before if k[1] == c.factor and k in after)
            x = np.array([before[k] for k in keys])
            y = np.array([after[k] for k in keys])
            assert c.n_paired == len(keys) and not c.suppressed
            assert c.mean_before == pytest.approx(x.mean(), abs=1e-9)
            assert c.mean_after == pytest.approx(y.mean(), abs=1e-9)
            t = stats.ttest_rel(y, x)
            assert c.t == pytest.approx(t.statistic, abs=1e-9)
            assert c.p == pytest.approx(t.pvalue, abs=1e-9)
            d = y - x
            low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
            assert (c.ci_low, c.ci_high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
            assert c.dz == pytest.approx(d.mean() / d.std(ddof=1), abs=1e-9)
            # Equal changes are ties (scores are fractions, so compare them rounded).
            w = stats.wilcoxon(np.round(d, 6), zero_method="wilcox", correction=False, method="approx")
            assert c.wilcoxon_p == pytest.approx(w.pvalue, abs=1e-9)
            assert c.wilcoxon_w == pytest.approx(w.statistic, abs=1e-9)
            p_t.append(t.pvalue)
            p_w.append(w.pvalue)
            lost = sum(1 for k in before if k[1] == c.factor and k not in after)
            assert c.n_lost in (lost, None)
        assert [c.p_holm for c in comp.factors] == pytest.approx(
            list(pingouin.multicomp(p_t, method="holm")[1]), abs=1e-9)
        assert [c.wilcoxon_p_holm for c in comp.factors] == pytest.approx(
            list(pingouin.multicomp(p_w, method="holm")[1]), abs=1e-9)


def test_alpha_equals_pingouin_and_means_per_round(cohort):
    world, rounds, _ = cohort
    report = report_for(world, rounds)
    for rel in report.main.reliability:
        rows = item_rows(world.q, rel.round_id, rel.factor)
        expected = pingouin.cronbach_alpha(pd.DataFrame(rows))[0]
        assert rel.n == len(rows)
        assert rel.statements == len(world.q.statements_of(rel.factor))
        assert rel.alpha == pytest.approx(expected, abs=1e-9)
    for m in report.main.means:
        values = [s for (p, f), s in scores_by_pupil(m.round_id).items() if f == m.factor]
        assert m.n == len(values) or m.n is None
        assert m.mean == pytest.approx(np.mean(values), abs=1e-9)
        assert m.sd == pytest.approx(np.std(values, ddof=1), abs=1e-9)


def test_band_movement_and_distribution_add_up(cohort):
    world, rounds, _ = cohort
    report = report_for(world, rounds, threshold=1)  # nothing withheld
    comp = report.main.comparisons[-1]
    for bands, change, dist in zip(comp.bands, comp.factors, comp.distributions, strict=True):
        assert bands.total == change.n_paired
        assert sum(sum(row) for row in bands.counts) == change.n_paired
        assert sum(b.count for b in dist.bins) == change.n_paired
        assert change.improved + change.unchanged + change.declined == change.n_paired


def _world_with(staff_world, pairs: list[tuple[dict, dict]]):
    rounds = add_rounds(staff_world, names=("After",))
    pupils = add_pupils(staff_world, len(pairs))
    for p, (a, b) in zip(pupils, pairs, strict=True):
        if a is not None:
            answer(staff_world, rounds[0], p, a)
        if b is not None:
            answer(staff_world, rounds[1], p, b)
    db.session.commit()
    return rounds


def _all(q, value):
    return {s.id: value for s in q.statements}


def test_one_pupil(staff_world):
    q = staff_world.q
    rounds = _world_with(staff_world, [(_all(q, 2), _all(q, 3))])
    withheld = report_for(staff_world, rounds)
    assert all(c.suppressed and c.mean_change is None for c in withheld.main.comparisons[0].factors)
    assert withheld.notes and all(m.mean is None for m in withheld.main.means)
    open_ = report_for(staff_world, rounds, threshold=1)
    c = open_.main.comparisons[0].factors[0]
    assert c.n_paired == 1 and c.mean_change is not None
    assert c.sd_change is None and c.ci_low is None and c.p is None and c.dz is None


def test_two_pupils_and_identical_scores(staff_world):
    q = staff_world.q
    same = _world_with(staff_world, [(_all(q, 2), _all(q, 3)), (_all(q, 1), _all(q, 2))])
    report = report_for(staff_world, same, threshold=1)
    for c in report.main.comparisons[0].factors:
        assert c.n_paired == 2
        # Both pupils changed by the same amount: zero spread, so no t, p or d_z.
        assert c.sd_change == 0 and c.ci_low == c.ci_high == c.mean_change
        assert c.t is None and c.p is None and c.dz is None and c.p_holm is None


def test_all_suppressed_and_threshold_from_caller(staff_world):
    q = staff_world.q
    rounds = _world_with(staff_world, [(_all(q, 2), _all(q, 3))] * 4)
    report = report_for(staff_world, rounds)
    comp = report.main.comparisons[0]
    assert all(c.suppressed for c in comp.factors)
    assert all(v is None for b in comp.bands for row in b.counts for v in row)
    assert all(b.count is None for d in comp.distributions for b in d.bins)
    assert all(r.alpha is None for r in report.main.reliability)
    assert report.main.n_pupils is None
    assert "fewer than 5" in report.suppression_note


def test_factor_with_missing_answers(staff_world):
    q = staff_world.q
    first = q.factors[0].key
    gappy = {k: v for k, v in _all(q, 3).items() if k not in {s.id for s in q.statements_of(first)}}
    pairs = [(_all(q, 2), _all(q, 3))] * 5 + [(_all(q, 2), gappy)]
    rounds = _world_with(staff_world, pairs)
    comp = report_for(staff_world, rounds).main.comparisons[0]
    assert comp.factor(first).n_paired == 5
    assert comp.factors[1].n_paired == 6


def test_pupil_in_second_round_only(staff_world):
    q = staff_world.q
    pairs = [(_all(q, 2), _all(q, 3))] * 5 + [(None, _all(q, 4))]
    rounds = _world_with(staff_world, pairs)
    report = report_for(staff_world, rounds, threshold=1)
    c = report.main.comparisons[0].factors[0]
    assert c.n_paired == 5 and c.n_lost == 0
    after = [m for m in report.main.means if m.round_id == rounds[1].id][0]
    assert after.n == 6
    assert report.main.n_pupils == 6


def test_small_attrition_is_withheld_with_the_baseline_count(staff_world):
    q = staff_world.q
    pairs = [(_all(q, 2), _all(q, 3))] * 6 + [(_all(q, 2), None)] * 2
    rounds = _world_with(staff_world, pairs)
    report = report_for(staff_world, rounds)
    c = report.main.comparisons[0].factors[0]
    assert c.n_paired == 6 and c.n_lost is None and c.n_baseline is None
    baseline_mean = [m for m in report.main.means if m.round_id == rounds[0].id][0]
    assert baseline_mean.n is None and baseline_mean.mean is not None


def test_split_withholds_the_same_cells_on_both_sides(cohort):
    world, rounds, pupils = cohort
    for p in pupils[:22]:
        p.fsm = True
    db.session.commit()
    report = report_for(world, rounds, split=Split("fsm"))
    inside, rest = report.subgroups
    assert inside.label == "FSM" and rest.label == "Not FSM"
    for a, b in zip(inside.comparisons, rest.comparisons, strict=True):
        for ba, bb in zip(a.bands, b.bands, strict=True):
            hidden_a = {(i, j) for i, row in enumerate(ba.counts) for j, v in enumerate(row) if v is None}
            hidden_b = {(i, j) for i, row in enumerate(bb.counts) for j, v in enumerate(row) if v is None}
            assert hidden_a == hidden_b
        for fa, fb in zip(a.factors, b.factors, strict=True):
            assert fa.suppressed == fb.suppressed
            if not fa.suppressed:
                assert fa.n_paired + fb.n_paired == report.main.comparisons[0].factor(fa.factor).n_paired \
                    or a.later.id != report.main.comparisons[0].later.id


def test_selection_filters_and_scope(cohort):
    world, rounds, pupils = cohort
    year7 = report_for(world, rounds, year_groups=(7,))
    everyone = report_for(world, rounds)
    assert 0 < year7.main.comparisons[0].factors[0].n_paired < everyone.main.comparisons[0].factors[0].n_paired
    assert year7.selection_label == "Years 7"
    with pytest.raises(CohortError):
        report_for(world, rounds, user=world.other_lead)  # the partnership's rounds are not theirs
    with pytest.raises(CohortError):
        report_for(world, rounds[:1])
    # A teacher sees their group's pupils only: the same cohort here, as all are in Group A.
    teacher = report_for(world, rounds, user=world.teacher)
    assert teacher.main.comparisons[0].factors[0].n_paired == everyone.main.comparisons[0].factors[0].n_paired


def test_random_answers_cover_the_scale(staff_world):
    import random

    values = random_answers(staff_world.q, random.Random(1), 0.5)
    assert set(values.values()) <= {o.value for o in staff_world.q.scale}


def test_split_by_flag_and_filters_outside_scope(cohort):
    from survey_app.models import PupilFlag, pupil_flag_members

    world, rounds, pupils = cohort
    flag = PupilFlag(name="Mentored", partnership_id=world.partnership.id)
    db.session.add(flag)
    db.session.flush()
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": flag.id, "pupil_id": p.id} for p in pupils[:20]])
    db.session.commit()
    report = report_for(world, rounds, split=Split("flag", flag.id))
    assert [s.label for s in report.subgroups] == ["Mentored", "Not Mentored"]
    flagged = report_for(world, rounds, flag_ids=(flag.id,))
    assert flagged.selection_label == "Flags: Mentored"
    assert flagged.main.comparisons[0].factors[0].n_paired <= 20
    with pytest.raises(CohortError):
        report_for(world, rounds, user=world.other_lead, split=Split("flag", flag.id))
    with pytest.raises(CohortError):
        report_for(world, rounds, group_ids=(world.group_b.id,), user=world.lead)


def test_response_scores_hold_the_factor_scores_side_by_side(cohort):
    """What the report reads (response_scores) is what store_scores stored per factor, also
    after the answers change and the response is scored again."""
    from survey_app.models import Answer, FactorScore, Response, ResponseScores
    from survey_app.pupil.answers import store_scores

    world, rounds, _ = cohort
    positions = {f.key: i for i, f in enumerate(world.q.factors, start=1)}

    def laid_out() -> tuple[dict, dict]:
        wide = {r.response_id: r._mapping for r in db.session.execute(sa.select(ResponseScores.__table__))}
        expected: dict[int, dict] = {}
        for s in db.session.scalars(sa.select(FactorScore)):
            i = positions[s.factor]
            expected.setdefault(s.response_id, {}).update(
                {f"score_{i}": s.score, f"band_{i}": s.band, f"code_{i}": s.item_code})
        got = {rid: {k: row[k] for k in expected.get(rid, {})} for rid, row in wide.items()}
        return got, expected

    got, expected = laid_out()
    assert got == expected and len(got) == db.session.scalar(
        sa.select(sa.func.count()).select_from(Response).where(Response.finished_at.is_not(None)))
    assert any(v is None for row in got.values() for v in row.values())  # incomplete factors: no code
    response = db.session.scalars(sa.select(Response).where(Response.round_id == rounds[0].id)).first()
    db.session.execute(sa.update(Answer).where(Answer.response_id == response.id).values(value=1))
    store_scores(db.session, response, utcnow())
    db.session.commit()
    got, expected = laid_out()
    assert got == expected


def test_packed_answers_round_trip():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from survey_app.scoring.reliability import decode_items, encode_items

    @settings(max_examples=200, deadline=None)
    @given(st.integers(1, 3), st.integers(2, 6).flatmap(lambda k: st.just(k)), st.data())
    def check(lo, width, data):
        hi = lo + width
        values = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=8))
        code = encode_items(values, lo, hi)
        assert decode_items(code, len(values), lo, hi) == values

    check()
    with pytest.raises(ValueError):
        encode_items([5], 1, 4)
    assert encode_items([1] * 40, 1, 4) is None  # too long to pack: the answers are read instead
