"""The tracking list: one row per pupil of a selection, attitudes beside attainment,
attendance, open interventions, open targets and the patterns that pick the pupil out.

A fixed number of queries whatever the number of pupils (pupils, flags, responses, factor
scores, results, attendance, interventions, open targets, thresholds, and the round statistics behind
reliable change once per earlier round); the rows are plain data for the page, the
exports and the command line. Only pupils the viewer may see one by one are listed, so no
figure here is an aggregate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ..cohort.selection import CohortSelection, pupil_filter
from ..models import (
    AttainmentResult,
    AttendancePeriod,
    FactorScore,
    Intervention,
    PatternThreshold,
    Pupil,
    PupilFlag,
    QuestionnaireVersion,
    Response,
    School,
    SurveyRound,
    pupil_flag_members,
)
from ..models.reviews import Target
from ..models.tracking import intervention_members
from ..profiles.queries import rci_bases
from ..questionnaires.store import definition_of
from ..scoring.change import RELIABLE, standard_error_of_difference
from . import patterns as pt
from .scales import SCALE_NAMES, against_target

OPEN_STATUSES = ("planned", "active")
# A target's area as the list shows it (the reviews area words these for its own pages; the
# tracking list cannot import it, since reviews imports tracking).
TARGET_AREAS = {"attendance": "Attendance", "behaviour": "Behaviour", "homework": "Homework",
                "subject": "Subject", "factor": "Attitude"}
CHUNK = 900


@dataclass
class FactorCell:
    key: str
    name: str
    score: float | None
    band: str | None
    band_label: str | None
    change: float | None = None
    verdict: str | None = None  # 'reliable rise', 'reliable fall', 'within measurement error', 'unknown'


@dataclass
class SubjectCell:
    subject: str
    assessment: str
    assessed_on: date
    scale: str
    result: str
    target: str | None
    prediction: str | None
    versus: str | None

    @property
    def scale_name(self) -> str:
        return SCALE_NAMES.get(self.scale, self.scale)


@dataclass
class TrackingRow:
    pupil_id: int
    upn: str
    name: str
    year_group: int
    school_id: int
    school: str
    sen: str
    fsm: bool
    eal: bool
    flags: list[str] = field(default_factory=list)
    round_name: str | None = None
    factors: dict[str, FactorCell] = field(default_factory=dict)
    subjects: dict[str, SubjectCell] = field(default_factory=dict)  # by subject name as shown
    attendance: float | None = None
    attendance_period: tuple[date, date] | None = None
    interventions: list[tuple[int, str]] = field(default_factory=list)  # (id, title), open ones
    targets: list[str] = field(default_factory=list)  # open targets in words, soonest review first
    patterns: list[pt.Hit] = field(default_factory=list)


@dataclass
class TrackingList:
    rows: list[TrackingRow]
    factors: list[tuple[str, str]]  # (key, name) in questionnaire order
    subjects: list[str]
    thresholds: dict[int, dict[str, dict[str, float]]]  # school id -> pattern -> name -> value


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def thresholds_for(session: Session, school_ids: list[int]) -> dict[int, dict[str, dict[str, float]]]:
    """Return {school id: {pattern: {threshold: value}}} as each school (or, where it has not
    chosen, its partnership) chose them; missing values mean our defaults."""
    if not school_ids:
        return {}
    partnership_of = dict(session.execute(select(School.id, School.partnership_id)
                                          .where(School.id.in_(school_ids))).all())
    rows = session.execute(select(PatternThreshold).where(
        (PatternThreshold.school_id.in_(school_ids))
        | (PatternThreshold.partnership_id.in_([p for p in partnership_of.values() if p])))).scalars().all()
    out: dict[int, dict[str, dict[str, float]]] = {sid: defaultdict(dict) for sid in school_ids}
    for row in sorted(rows, key=lambda r: r.school_id is not None):  # partnership first, school wins
        for sid in school_ids:
            if row.school_id == sid or (row.school_id is None and row.partnership_id == partnership_of[sid]):
                out[sid][row.pattern][row.name] = row.value
    return {sid: dict(v) for sid, v in out.items()}


def verdict(change: float, s_diff: float | None) -> str:
    """Return the reliable change verdict of `change` (as scoring.change.reliable_change words it)."""
    if s_diff is None:
        return "unknown"
    rci = change / s_diff
    return "reliable rise" if rci > RELIABLE else "reliable fall" if rci < -RELIABLE else "within measurement error"


def _latest_two(session: Session, condition: ColumnElement[bool]):
    """Return {pupil id: [(response id, round, version id)] latest last, at most two}.

    Plain columns, not ORM objects: thousands of rows are read here on every page."""
    found = session.execute(
        select(Response.id, Response.pupil_id, Response.questionnaire_version_id, Response.round_id)
        .join(SurveyRound, SurveyRound.id == Response.round_id).join(Pupil, Pupil.id == Response.pupil_id)
        .where(condition, Response.finished_at.is_not(None))
        .order_by(Response.pupil_id, SurveyRound.opens_at, SurveyRound.id)).all()
    rounds = {r.id: r for r in session.scalars(select(SurveyRound).where(
        SurveyRound.id.in_({row[3] for row in found})))} if found else {}
    out: dict[int, list] = defaultdict(list)
    for response_id, pupil_id, version_id, round_id in found:
        out[pupil_id] = (out[pupil_id] + [(response_id, rounds[round_id], version_id)])[-2:]
    return out


def _attitudes(session, rows_by_id, condition, scope, now, threshold):
    latest = _latest_two(session, condition)
    response_ids = [rid for pairs in latest.values() for rid, _, _ in pairs]
    scores: dict[int, dict[str, tuple[float | None, str | None]]] = defaultdict(dict)
    for chunk in _chunks(response_ids):
        for rid, factor, score, band in session.execute(select(
                FactorScore.response_id, FactorScore.factor, FactorScore.score, FactorScore.band)
                .where(FactorScore.response_id.in_(chunk))):
            scores[rid][factor] = (score, band)
    versions = {v.id: definition_of(v) for v in session.scalars(select(QuestionnaireVersion).where(
        QuestionnaireVersion.id.in_({v for pairs in latest.values() for _, _, v in pairs})))}
    bases: dict[int, dict] = {}
    factor_list: list[tuple[str, str]] = []
    for pupil_id, pairs in latest.items():
        row = rows_by_id.get(pupil_id)
        if row is None:
            continue
        rid, survey_round, version_id = pairs[-1]
        q = versions[version_id]
        if not factor_list:
            factor_list = [(f.key, f.name) for f in q.factors]
        labels = {b.key: b.label for b in q.bands}
        row.round_name = survey_round.name
        before = scores.get(pairs[0][0]) if len(pairs) == 2 else None
        if before is not None and pairs[0][1].id not in bases:
            # S_diff of each factor, once per earlier round (the RCI is then one division a pupil).
            bases[pairs[0][1].id] = {
                key: standard_error_of_difference(b.sd, b.alpha)
                for key, b in rci_bases(session, pairs[0][1], q.factors, now, scope, threshold).items()}
        s_diffs = bases.get(pairs[0][1].id, {}) if before else {}
        mine = scores[rid]
        for f in q.factors:
            score, band = mine.get(f.key, (None, None))
            cell = FactorCell(f.key, f.name, score, band, labels.get(band) if band else None)
            old = before.get(f.key, (None, None))[0] if before else None
            if score is not None and old is not None and f.key in s_diffs:
                cell.change = score - old
                cell.verdict = verdict(cell.change, s_diffs[f.key])
            row.factors[f.key] = cell
    return factor_list


def _results(session, rows_by_id, condition) -> list[str]:
    """Fill each row's latest result per subject; return the subjects in alphabetical order."""
    names: dict[str, str] = {}
    a = AttainmentResult
    # Only each pupil's latest point per subject leaves the database.
    ranked = select(a.id, func.row_number().over(
        partition_by=(a.pupil_id, func.lower(a.subject)), order_by=(a.assessed_on.desc(), a.id.desc())).label("n")
    ).join(Pupil, Pupil.id == a.pupil_id).where(condition).subquery()
    for pupil_id, subject, assessment, day, scale, result, value, target, target_value, prediction in session.execute(
            select(a.pupil_id, a.subject, a.assessment, a.assessed_on, a.scale, a.result, a.result_value, a.target,
                   a.target_value, a.prediction).join(ranked, ranked.c.id == a.id).where(ranked.c.n == 1)
            .order_by(a.assessed_on, a.id)):
        shown = names.setdefault(subject.lower(), subject)
        rows_by_id[pupil_id].subjects[shown] = SubjectCell(shown, assessment, day, scale, result, target, prediction,
                                                           against_target(value, target_value))
    return sorted(names.values(), key=str.lower)


def tracking_list(session: Session, scope, selection: CohortSelection, now: datetime,
                  threshold: int = 5) -> TrackingList:
    """Return the tracking list of the pupils of `selection` that `scope` may see one by one
    (scope None: every pupil, for the command line), ordered by school, year and name."""
    seen = scope.pupil_condition() if scope is not None else Pupil.id.is_not(None)
    condition = pupil_filter(selection, seen) & Pupil.archived.is_(False)
    rows_by_id: dict[int, TrackingRow] = {}
    for pid, upn, first, last, year, school_id, sen, fsm, eal, school_name in session.execute(
            select(Pupil.id, Pupil.upn, Pupil.first_name, Pupil.surname, Pupil.year_group, Pupil.school_id, Pupil.sen,
                   Pupil.fsm, Pupil.eal, School.name).join(School, School.id == Pupil.school_id).where(condition)
            .order_by(School.name, Pupil.year_group, Pupil.surname, Pupil.first_name, Pupil.id)):
        rows_by_id[pid] = TrackingRow(pid, upn, f"{first} {last}", year, school_id, school_name, sen, fsm, eal)
    for pupil_id, name in session.execute(
            select(pupil_flag_members.c.pupil_id, PupilFlag.name)
            .join(PupilFlag, PupilFlag.id == pupil_flag_members.c.flag_id)
            .join(Pupil, Pupil.id == pupil_flag_members.c.pupil_id).where(condition).order_by(PupilFlag.name)):
        rows_by_id[pupil_id].flags.append(name)
    factor_list = _attitudes(session, rows_by_id, condition, scope, now, threshold)
    subjects = _results(session, rows_by_id, condition)
    for pupil_id, starts_on, ends_on, percent in session.execute(
            select(AttendancePeriod.pupil_id, AttendancePeriod.starts_on, AttendancePeriod.ends_on,
                   AttendancePeriod.percent).join(Pupil, Pupil.id == AttendancePeriod.pupil_id)
            .where(condition).order_by(AttendancePeriod.ends_on, AttendancePeriod.id)):
        rows_by_id[pupil_id].attendance = percent
        rows_by_id[pupil_id].attendance_period = (starts_on, ends_on)
    for pupil_id, iid, title in session.execute(
            select(intervention_members.c.pupil_id, Intervention.id, Intervention.title)
            .join(Intervention, Intervention.id == intervention_members.c.intervention_id)
            .join(Pupil, Pupil.id == intervention_members.c.pupil_id)
            .where(condition, Intervention.status.in_(OPEN_STATUSES)).order_by(Intervention.review_on)):
        rows_by_id[pupil_id].interventions.append((iid, title))
    factor_names = dict(factor_list)
    for pupil_id, area, detail, words, review_on in session.execute(
            select(Target.pupil_id, Target.area, Target.detail, Target.words, Target.review_on)
            .join(Pupil, Pupil.id == Target.pupil_id)
            .where(condition, Target.outcome.is_(None)).order_by(Target.review_on, Target.id)):
        rows_by_id[pupil_id].targets.append(target_words(area, detail, words, review_on, factor_names))
    thresholds = thresholds_for(session, sorted({r.school_id for r in rows_by_id.values()}))
    for row in rows_by_id.values():
        row.patterns = pt.find_patterns(
            {k: pt.Factor(k, c.name, c.score, c.change, c.verdict == "reliable fall") for k, c in row.factors.items()},
            [pt.Subject(s.subject, s.result, s.target, s.versus) for s in row.subjects.values()],
            row.attendance, thresholds.get(row.school_id, {}))
    return TrackingList(list(rows_by_id.values()), factor_list, subjects, thresholds)


def target_words(area: str, detail: str | None, words: str, review_on: date,
                 factor_names: dict[str, str] | None = None) -> str:
    """Return an open target in short words: "Attendance: Be in school every day (review
    12 Jan 2027)"; a subject's target is headed by the subject, an attitude's by its factor."""
    if area == "subject" and detail:
        head = detail
    elif area == "factor" and detail:
        head = (factor_names or {}).get(detail, detail)
    else:
        head = TARGET_AREAS.get(area, area)
    return f"{head}: {words} (review {review_on.day} {review_on:%b %Y})"


@dataclass
class PupilStanding:
    """One pupil's latest result per subject (against target within its scale) and their
    latest attendance period: what the tutor's conversation sheet shows beside attitudes."""

    subjects: list[SubjectCell]
    attendance: float | None
    attendance_period: tuple[date, date] | None


def pupil_standing(session: Session, pupil: Pupil) -> PupilStanding:
    """Return `pupil`'s standing (the caller has checked that the viewer may see the pupil)."""
    row = TrackingRow(pupil.id, pupil.upn, pupil.display_name, pupil.year_group, pupil.school_id, "",
                      pupil.sen, pupil.fsm, pupil.eal)
    _results(session, {pupil.id: row}, Pupil.id == pupil.id)
    latest = session.execute(
        select(AttendancePeriod.starts_on, AttendancePeriod.ends_on, AttendancePeriod.percent)
        .where(AttendancePeriod.pupil_id == pupil.id)
        .order_by(AttendancePeriod.ends_on.desc(), AttendancePeriod.id.desc()).limit(1)).first()
    return PupilStanding(sorted(row.subjects.values(), key=lambda s: s.subject.lower()),
                         latest.percent if latest else None,
                         (latest.starts_on, latest.ends_on) if latest else None)
