"""What changed for an intervention's pupils at each later round, beside similar pupils
who had no intervention. A comparison, not proof of cause.

- Baseline: the latest round that opened on or before the start and that a member finished;
  later rounds: those that opened after the start.
- Per pupil the viewer may see: the change on each targeted factor with its reliable change
  (against the baseline round's spread and reliability), attendance and attainment in the
  targeted subjects before and after the start, and whether the measurable criterion is met.
- For the group and for the comparison pupils (same school, same year groups, the same band
  on the factor at baseline, in no intervention): n, mean change with a t-based 95% CI and
  the paired effect size d_z (survey_app/scoring/cohort.py). A figure over fewer than the
  suppression threshold is withheld; a figure that counts pupils the viewer may not see one
  by one is protected as in the cohort report (each such pupil's scores carry their fixed
  offset, counts their cell key's noise, figures are rounded to what is shown).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..models import (
    AttainmentResult,
    AttendancePeriod,
    FactorScore,
    Intervention,
    Pupil,
    QuestionnaireVersion,
    Response,
    SurveyRound,
)
from ..models.base import utcnow
from ..models.tracking import intervention_members
from ..privacy.disclosure import NONE, Protection, protect_count, shown
from ..privacy.keys import score_offset
from ..profiles.queries import rci_bases
from ..questionnaires.store import definition_of
from ..scoring.change import reliable_change
from ..scoring.cohort import PairedChange, paired_change
from .scales import against_target

NOT_CAUSE = ("This is a comparison, not proof of cause: the pupils who had the intervention were chosen for it, "
             "and much else changed for them and for the others between the rounds.")


@dataclass
class GroupChange:
    """A mean change as shown: None figures are withheld (fewer pupils than the threshold)."""

    n: int | None
    withheld: bool
    protected: bool
    change: PairedChange | None = None


@dataclass
class PupilChange:
    pupil: Pupil
    changes: dict[str, tuple[float, str] | None]  # factor -> (change, verdict)
    attendance: tuple[float | None, float | None]
    results: dict[str, tuple[str | None, str | None]]  # subject -> (before, after) with "vs target"
    criterion_met: bool | None


@dataclass
class RoundImpact:
    round: SurveyRound
    pupils: list[PupilChange]
    group: dict[str, GroupChange]
    comparison: dict[str, GroupChange]
    met: tuple[int, int] | None  # (met, of) among the pupils the viewer sees


@dataclass
class Impact:
    baseline: SurveyRound | None
    rounds: list[RoundImpact] = field(default_factory=list)
    factors: list[str] = field(default_factory=list)
    note: str = NOT_CAUSE
    # Attendance % before and after the start (latest period ending on or before it, latest after):
    # the intervention's pupils, and pupils of the same school and year groups in no intervention.
    attendance: GroupChange | None = None
    attendance_comparison: GroupChange | None = None


def _finished(session: Session, condition) -> dict[int, dict[int, int]]:
    """Return {pupil id: {round id: response id}} of finished responses."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for rid, pid, round_id in session.execute(select(Response.id, Response.pupil_id, Response.round_id).join(
            Pupil, Pupil.id == Response.pupil_id).where(condition, Response.finished_at.is_not(None))):
        out[pid][round_id] = rid
    return out


def _scores(session: Session, response_ids: list[int], factors: list[str]) -> dict[int, dict[str, tuple]]:
    out: dict[int, dict[str, tuple]] = defaultdict(dict)
    for start in range(0, len(response_ids), 900):
        for rid, factor, score, band in session.execute(select(
                FactorScore.response_id, FactorScore.factor, FactorScore.score, FactorScore.band).where(
                FactorScore.response_id.in_(response_ids[start:start + 900]), FactorScore.factor.in_(factors))):
            out[rid][factor] = (score, band)
    return out


def group_change(pairs: list[tuple[float, float]], protection: Protection, threshold: int) -> GroupChange:
    """Return the mean change of (before, after) pairs as shown: withheld below `threshold`;
    protected (count noise, rounded figures) when `protection` counts hidden pupils."""
    n = len(pairs)
    if n < threshold:
        return GroupChange(None if n else 0, n > 0, bool(protection))
    change = paired_change(n, sum(b for b, _ in pairs), sum(a for _, a in pairs), sum(a - b for b, a in pairs),
                           sum((a - b) ** 2 for b, a in pairs))
    if protection:
        change = _rounded(change)
    return GroupChange(protect_count(n, protection, threshold), False, bool(protection), change)


def _rounded(c: PairedChange) -> PairedChange:
    """Return a protected change rounded to what the page shows."""
    def score(v):
        return shown(v, "score", True)

    def effect(v):
        return shown(v, "effect", True)

    return replace(c, mean_before=score(c.mean_before), mean_after=score(c.mean_after),
                   mean_change=score(c.mean_change), sd_change=score(c.sd_change), ci_low=score(c.ci_low),
                   ci_high=score(c.ci_high), t=shown(c.t, "t", True), p=shown(c.p, "p", True), dz=effect(c.dz),
                   dz_low=effect(c.dz_low), dz_high=effect(c.dz_high))


def _pair(p: Pupil, hidden: bool, before: float, after: float, factor: str, baseline_id: int,
          round_id: int) -> tuple[float, float]:
    """Return (before, after); a pupil the viewer may not see carries their fixed offsets into
    every figure, as in the cohort report."""
    if not hidden:
        return before, after
    key = p.record_key or 0
    return before + score_offset(key, factor, baseline_id), after + score_offset(key, factor, round_id)


def intervention_impact(session: Session, scope: Scope, plan: Intervention, threshold: int = 5) -> Impact:
    """Return the intervention's impact at each later round (see the module's docstring)."""
    factors = list((plan.targets or {}).get("factors") or [])
    subjects = [s.lower() for s in (plan.targets or {}).get("subjects") or []]
    member_ids = select(intervention_members.c.pupil_id).where(intervention_members.c.intervention_id == plan.id)
    in_aggregates = scope.aggregate_pupil_condition()
    members = {p.id: p for p in session.scalars(select(Pupil).where(Pupil.id.in_(member_ids), in_aggregates))}
    visible = set(session.scalars(select(Pupil.id).where(Pupil.id.in_(member_ids), scope.pupil_condition())))
    responses = _finished(session, Pupil.id.in_(member_ids) & in_aggregates)
    rounds = {r.id: r for r in session.scalars(select(SurveyRound).where(
        SurveyRound.id.in_({rid for by in responses.values() for rid in by})))}
    before = [r for r in rounds.values() if r.opens_at.date() <= plan.starts_on]
    if not before:
        return Impact(None, factors=factors)
    baseline = max(before, key=lambda r: (r.opens_at, r.id))
    later = sorted((r for r in rounds.values() if r.opens_at.date() > plan.starts_on), key=lambda r: (r.opens_at, r.id))
    impact = Impact(baseline, factors=factors)
    if not later:
        return impact
    q = definition_of(session.get(QuestionnaireVersion, baseline.questionnaire_version_id))
    lowest_band = q.bands[0].key if q.bands else None
    bases = rci_bases(session, baseline, [f for f in q.factors if f.key in factors], utcnow(), scope, threshold)
    years = {p.year_group for p in members.values()}
    pool_condition = (in_aggregates & (Pupil.school_id == plan.school_id) & Pupil.year_group.in_(years)
                      & ~Pupil.id.in_(select(intervention_members.c.pupil_id)) & Pupil.archived.is_(False))
    pool = {p.id: p for p in session.scalars(select(Pupil).where(pool_condition))}
    pool_responses = _finished(session, pool_condition)
    hidden_rule = scope.protected_pupil_condition()
    hidden = set() if hidden_rule is None else set(session.scalars(select(Pupil.id).where(
        Pupil.id.in_(list(members) + list(pool)), hidden_rule)))
    ids = [rid for by in list(responses.values()) + list(pool_responses.values()) for rid in by.values()]
    scores = _scores(session, ids, factors)
    attendance = _attendance(session, list(members), plan.starts_on)
    results = _results(session, list(members), plan.starts_on, subjects)
    impact.attendance = _attendance_change(members, attendance, hidden, threshold)
    impact.attendance_comparison = _attendance_change(
        pool, _attendance(session, list(pool), plan.starts_on), hidden, threshold)
    for r in later:
        impact.rounds.append(_round(r, baseline, plan, factors, members, visible, hidden, responses, pool,
                                    pool_responses, scores, bases, lowest_band, attendance, results, threshold))
    return impact


def _round(r, baseline, plan, factors, members, visible, hidden, responses, pool, pool_responses, scores, bases,
           lowest_band, attendance, results, threshold) -> RoundImpact:
    group: dict[str, GroupChange] = {}
    comparison: dict[str, GroupChange] = {}
    per_pupil: dict[int, dict[str, tuple[float, str] | None]] = defaultdict(dict)
    latest: dict[int, dict[str, tuple]] = {}
    for f in factors:
        pairs, protection, strata = [], NONE, set()
        for pid, p in members.items():
            b, a = responses[pid].get(baseline.id), responses[pid].get(r.id)
            sb = scores.get(b, {}).get(f) if b else None
            sa = scores.get(a, {}).get(f) if a else None
            if a:
                latest[pid] = scores.get(a, {})
            if not sb or not sa or sb[0] is None or sa[0] is None:
                per_pupil[pid][f] = None
                continue
            strata.add((p.year_group, sb[1]))
            basis = bases.get(f)
            rc = reliable_change(sb[0], sa[0], basis.sd, basis.alpha) if basis else None
            per_pupil[pid][f] = (sa[0] - sb[0], rc.verdict if rc else "unknown")
            h = pid in hidden
            pairs.append(_pair(p, h, sb[0], sa[0], f, baseline.id, r.id))
            if h:
                protection = protection + Protection(1, p.cell_key or 0)
        group[f] = group_change(pairs, protection, threshold)
        pairs, protection = [], NONE
        for pid, p in pool.items():
            b, a = pool_responses.get(pid, {}).get(baseline.id), pool_responses.get(pid, {}).get(r.id)
            sb = scores.get(b, {}).get(f) if b else None
            sa = scores.get(a, {}).get(f) if a else None
            if not sb or not sa or sb[0] is None or sa[0] is None or (p.year_group, sb[1]) not in strata:
                continue
            h = pid in hidden
            pairs.append(_pair(p, h, sb[0], sa[0], f, baseline.id, r.id))
            if h:
                protection = protection + Protection(1, p.cell_key or 0)
        comparison[f] = group_change(pairs, protection, threshold)
    shown_pupils = []
    for pid in sorted(visible & set(members), key=lambda i: (members[i].surname, members[i].first_name)):
        met = criterion_met(plan, latest.get(pid), attendance.get(pid, (None, None))[1], lowest_band)
        shown_pupils.append(PupilChange(members[pid], per_pupil.get(pid, {}), attendance.get(pid, (None, None)),
                                        results.get(pid, {}), met))
    known = [p.criterion_met for p in shown_pupils if p.criterion_met is not None]
    met = (sum(known), len(known)) if plan.measure and known else None
    return RoundImpact(r, shown_pupils, group, comparison, met)


def criterion_met(plan: Intervention, latest: dict[str, tuple] | None, attendance_after: float | None,
                  lowest_band: str | None) -> bool | None:
    """Return whether the pupil meets the measurable criterion (None: no criterion, or no figure yet)."""
    if plan.measure == "attendance_at_least":
        if attendance_after is None or plan.measure_value is None:
            return None
        return attendance_after >= plan.measure_value
    if plan.measure in ("factor_out_of_lowest", "factor_at_least") and latest is not None:
        score, band = latest.get(plan.measure_factor, (None, None))
        if score is None:
            return None
        if plan.measure == "factor_out_of_lowest":
            return band != lowest_band
        return plan.measure_value is not None and score >= plan.measure_value
    return None


def _attendance_change(people: dict[int, Pupil], attendance: dict[int, tuple], hidden: set[int],
                       threshold: int) -> GroupChange:
    """Return the mean change in attendance % of the pupils with a period before and after;
    a pupil the viewer may not see carries fixed offsets, as their scores do."""
    pairs, protection = [], NONE
    for pid, (before, after) in attendance.items():
        if before is None or after is None or pid not in people:
            continue
        if pid in hidden:
            key = people[pid].record_key or 0
            before, after = before + score_offset(key, "attendance", 0), after + score_offset(key, "attendance", 1)
            protection = protection + Protection(1, people[pid].cell_key or 0)
        pairs.append((before, after))
    return group_change(pairs, protection, threshold)


def _attendance(session: Session, pupil_ids: list[int], start: date) -> dict[int, tuple[float | None, float | None]]:
    """Return {pupil: (latest attendance % ending before the start, latest ending after it)}."""
    out: dict[int, list] = defaultdict(lambda: [None, None])
    for start_at in range(0, len(pupil_ids), 900):
        for pid, ends_on, percent in session.execute(select(
                AttendancePeriod.pupil_id, AttendancePeriod.ends_on, AttendancePeriod.percent).where(
                AttendancePeriod.pupil_id.in_(pupil_ids[start_at:start_at + 900])).order_by(AttendancePeriod.ends_on)):
            out[pid][0 if ends_on <= start else 1] = percent
    return {k: (v[0], v[1]) for k, v in out.items()}


def _results(session: Session, pupil_ids: list[int], start: date,
             subjects: list[str]) -> dict[int, dict[str, tuple[str | None, str | None]]]:
    """Return {pupil: {subject: (latest result before the start, latest after)}} in words."""
    out: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [None, None]))
    if not subjects:
        return {}
    for r in session.scalars(select(AttainmentResult).where(AttainmentResult.pupil_id.in_(pupil_ids))
                             .order_by(AttainmentResult.assessed_on)):
        if r.subject.lower() not in subjects:
            continue
        versus = against_target(r.result_value, r.target_value)
        text = r.result + (f" ({versus} target {r.target})" if versus else "")
        out[r.pupil_id][r.subject.lower()][0 if r.assessed_on <= start else 1] = text
    return {p: {s: (v[0], v[1]) for s, v in by.items()} for p, by in out.items()}
