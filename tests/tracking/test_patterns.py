"""The patterns at their edges, and the acceptance check: our own files imported through the
commands, a pupil above target with low self-regard, export-tracking names the pattern and why."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from survey_app.db import db
from survey_app.models import PatternThreshold
from survey_app.tracking import patterns as pt
from tests.cohort_data import answer

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
ALL = ("feelings_about_school", "perceived_learning_capability", "self_regard", "preparedness_for_learning",
       "attitudes_to_teachers", "general_work_ethic", "confidence_in_learning", "attitudes_to_attendance",
       "response_to_curriculum")


def factors(default: float = 70, **scores) -> dict[str, pt.Factor]:
    return {k: pt.Factor(k, k.replace("_", " ").title(), scores.get(k, default)) for k in ALL}


def keys(hits) -> list[str]:
    return [h.key for h in hits]


ON = [pt.Subject("Maths", "6", "5", "above"), pt.Subject("English", "5", "5", "on")]
BELOW = [pt.Subject("Maths", "4", "5", "below")]


@pytest.mark.parametrize("score, subjects, expected", [
    (49.9, ON, True), (50, ON, False),  # "below 50": 50 itself is not low
    (30, ON + BELOW, False),  # below target in one subject: not at or above target
    (30, [pt.Subject("Art", "6", None, None)], False),  # no target at all
])
def test_fragile_learner_edges(score, subjects, expected):
    hits = pt.find_patterns(factors(self_regard=score), subjects, 97, {})
    assert (pt.FRAGILE in keys(hits)) is expected
    if expected:
        reason = hits[0].reason
        assert "at or above target in Maths 6 (target 5), English 5 (target 5)" in reason
        assert reason.endswith(f"self regard {score:g} (below 50)")


def test_fragile_learner_on_low_confidence_and_the_schools_threshold():
    assert pt.FRAGILE in keys(pt.find_patterns(factors(confidence_in_learning=40), ON, None, {}))
    chosen = {pt.FRAGILE: {"low": 35}}
    assert pt.FRAGILE not in keys(pt.find_patterns(factors(confidence_in_learning=40), ON, None, chosen))


@pytest.mark.parametrize("attitude, attendance, expected", [
    (40, 89.9, True), (40, 90, False), (50, 80, False), (40, None, False)])
def test_attendance_edges(attitude, attendance, expected):
    hits = pt.find_patterns(factors(attitudes_to_attendance=attitude), [], attendance, {})
    assert (pt.ATTENDANCE in keys(hits)) is expected


def test_below_target_with_low_readiness_or_with_positive_attitudes():
    low = pt.find_patterns(factors(preparedness_for_learning=45), BELOW, None, {})
    assert keys(low) == [pt.LOW_READINESS] and "below target in Maths 4 (target 5)" in low[0].reason
    assert keys(pt.find_patterns(factors(60), BELOW, None, {})) == [pt.ANOTHER_BARRIER]
    assert keys(pt.find_patterns(factors(60, general_work_ethic=59.9), BELOW, None, {})) == []
    two = {pt.ANOTHER_BARRIER: {"subjects": 2}}
    assert keys(pt.find_patterns(factors(80), BELOW, None, two)) == []


def test_large_decline_only_when_reliable_and_large_enough():
    def one(change, reliable):
        f = factors()
        f["self_regard"] = pt.Factor("self_regard", "Self-regard", 40, change, reliable)
        return keys(pt.find_patterns(f, [], None, {}))
    assert one(-10, True) == [pt.DECLINE]
    assert one(-9.9, True) == [] and one(-25, False) == []


def _low_self_regard(world) -> dict[str, int]:
    values = {}
    lowest, highest = min(o.value for o in world.q.scale), max(o.value for o in world.q.scale)
    for s in world.q.statements:
        low = s.factor == "self_regard"
        values[s.id] = (highest if s.reversed else lowest) if low else (lowest if s.reversed else highest)
    return values


def test_export_tracking_lists_the_fragile_learner_with_the_reason(runner, world, tmp_path):
    for command, name in (("import-attainment", "attainment.csv"), ("import-attendance", "attendance.csv")):
        out = runner.invoke(args=[command, "--school", "100001", str(EXAMPLES / name)])
        assert out.exit_code == 0, out.output
    answer(world, world.round, world.pupils[0], _low_self_regard(world))  # above target in the file
    db.session.commit()
    path = tmp_path / "tracking.csv"
    out = runner.invoke(args=["export-tracking", "--school", "100001", "--out", str(path)])
    assert out.exit_code == 0 and "Wrote 3 pupils" in out.output, out.output
    rows = {r["UPN"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}
    fragile = rows[world.pupils[0].upn]
    assert fragile["Patterns"] == "Fragile learner"
    assert fragile["Fragile learner: why"] == ("at or above target in Maths 6 (target 5), English 5 "
                                              "(target 5), Science 7 (target 6); self-regard as a learner 0 (below 50)")
    assert (fragile["Maths result"], fragile["Maths target"], fragile["Maths prediction"],
            fragile["Maths against target"]) == ("6", "5", "6", "above target")
    assert fragile["Attendance %"] == "97.5" and fragile["Self-regard as a learner band"] == "Concern"
    assert all(r["Patterns"] == "" for upn, r in rows.items() if upn != world.pupils[0].upn)
    # The school's own threshold moves the edge: with "low" at 0 nobody is picked out.
    db.session.add(PatternThreshold(school_id=world.school.id, pattern=pt.FRAGILE, name="low", value=0))
    db.session.commit()
    xlsx = tmp_path / "tracking.xlsx"
    assert runner.invoke(args=["export-tracking", "--school", "100001", "--out", str(xlsx)]).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    header = [c.value for c in sheet[1]]
    assert "Fragile learner: why" in header and all(
        row[header.index("Patterns")] in (None, "") for row in sheet.iter_rows(min_row=2, values_only=True))


def test_a_score_just_under_the_line_is_not_shown_as_the_line():
    hits = pt.find_patterns(factors(preparedness_for_learning=49.96), BELOW, None, {})
    assert hits[0].reason.endswith("preparedness for learning 49.9 (below 50)")
