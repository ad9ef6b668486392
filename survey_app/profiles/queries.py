"""A pupil's learning profile: every round's factor scores, change with the reliable change
index, the statements behind each score, data-quality flags and the support log.

Reads stored factor scores and a handful of queries whose number does not grow with the
number of pupils or rounds; returns plain data for templates and charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..accounts.scope import Scope
from ..models import Answer, AuditEvent, FactorScore, Intervention, Pupil, Response, SupportEntry, SurveyRound
from ..models.tracking import intervention_members
from ..privacy.disclosure import Protection, protect_count, protect_statistic, sd_sensitivity, shown
from ..privacy.keys import CELL_KEY_MODULUS
from ..questionnaires import Factor, Questionnaire, Statement
from ..questionnaires.store import definition_of
from ..rounds.statistics import MIN_COHORT, round_hidden_from, round_stats
from ..scoring.change import ReliableChange, reliable_change
from ..scoring.quality import QualityFlag, quality_flags


@dataclass(frozen=True)
class RciBasis:
    """The spread and reliability a factor's reliable change is judged against, and where from."""

    sd: float | None
    sd_source: str
    alpha: float | None
    alpha_source: str


@dataclass
class RoundResult:
    round: SurveyRound
    response: Response
    questionnaire: Questionnaire
    scores: dict[str, FactorScore]
    answers: dict[str, int]
    flags: list[QualityFlag]

    @property
    def finished(self) -> bool:
        return self.response.finished_at is not None


@dataclass(frozen=True)
class Cell:
    score: float | None
    band: str | None
    band_label: str | None
    items_answered: int
    items_total: int
    change: ReliableChange | None


@dataclass
class FactorRow:
    factor: Factor
    cells: list[Cell]
    basis: RciBasis | None
    statements: list[tuple[Statement, list[int | None]]] = field(default_factory=list)


@dataclass
class LearningProfile:
    pupil: Pupil
    rounds: list[RoundResult]
    factors: list[FactorRow]
    support: list[SupportEntry]
    baseline: RoundResult | None
    questionnaire: Questionnaire | None

    @property
    def finished_rounds(self) -> list[RoundResult]:
        return [r for r in self.rounds if r.finished]


def rci_bases(session: Session, baseline: SurveyRound, factors, now: datetime, scope: Scope | None = None,
              threshold: int = 5) -> dict[str, RciBasis]:
    """Return {factor key: RciBasis} for reliable change against the `baseline` round.

    With `scope`, the round's figures (its pupils' n, SD and alpha) are protected when the
    round counts a pupil the staff member may not see one by one (privacy.disclosure):
    counts by their cell key, the SD and alpha moved by up to what one pupil could move
    them, rounded to what is shown.
    """
    stats = round_stats(session, baseline, now)
    protect = scope is not None and not scope.is_admin and round_hidden_from(
        session, scope.pupil_condition(), baseline)
    return {f.key: rci_basis(baseline, f, _protected(stats.get(f.key), threshold) if protect else stats.get(f.key))
            for f in factors}


@dataclass(frozen=True)
class _ShownStats:
    """A round's statistics as a staff member who may not see all its pupils is shown them."""

    n: int
    sd: float | None
    alpha: float | None
    alpha_n: int


def _protected(stats, threshold: int) -> _ShownStats | None:
    if stats is None:
        return None
    p = Protection(stats.n, stats.key_sum % CELL_KEY_MODULUS)
    pa = Protection(stats.alpha_n, stats.alpha_key_sum % CELL_KEY_MODULUS)
    sd = None
    if stats.sd is not None and stats.mean is not None:
        sd = shown(protect_statistic(stats.sd, sd_sensitivity(stats.n, stats.mean, stats.sd), p,
                                     f"round-sd:{stats.round_id}:{stats.factor}", low=0.0), "score", p)
    alpha = None
    if stats.alpha is not None:
        # One pupil moves alpha by about 4/n at most (a bound we use for rounds of 30 or more).
        alpha = shown(protect_statistic(stats.alpha, min(1.0, 4 / max(stats.alpha_n, 1)), pa,
                                        f"round-alpha:{stats.round_id}:{stats.factor}", high=1.0), "alpha", pa)
    n = protect_count(stats.n, p, threshold) if stats.n >= threshold else stats.n
    alpha_n = protect_count(stats.alpha_n, pa, threshold) if stats.alpha_n >= threshold else stats.alpha_n
    return _ShownStats(n or 0, sd, alpha, alpha_n or 0)


def rci_basis(baseline: SurveyRound, factor: Factor, stats) -> RciBasis:
    """Return the SD and alpha for reliable change on `factor`, from the baseline cohort
    when it is large enough (MIN_COHORT), else from the questionnaire's reference values."""
    name = baseline.name
    if stats is not None and stats.n >= MIN_COHORT and stats.sd:
        sd, sd_source = stats.sd, f"SD of the {stats.n} pupils in \u201c{name}\u201d"
    elif factor.reference_sd is not None:
        sd, sd_source = factor.reference_sd, "questionnaire reference SD (cohort too small)"
    else:
        sd, sd_source = None, "no SD available"
    if stats is not None and stats.alpha is not None and stats.alpha_n >= MIN_COHORT:
        alpha, alpha_source = stats.alpha, f"Cronbach\u2019s alpha of {stats.alpha_n} pupils in \u201c{name}\u201d"
    elif factor.reference_alpha is not None:
        alpha, alpha_source = factor.reference_alpha, "questionnaire reference alpha (cohort too small)"
    else:
        alpha, alpha_source = None, "no reliability available"
    return RciBasis(sd, sd_source, alpha, alpha_source)


def learning_profile(session: Session, pupil: Pupil, now: datetime, scope: Scope | None = None,
                     threshold: int = 5) -> LearningProfile:
    """Return the learning profile of `pupil` (the caller has checked scope); the round
    statistics behind reliable change are protected figures for `scope` (rci_bases)."""
    responses = session.execute(
        select(Response, SurveyRound)
        .join(SurveyRound, SurveyRound.id == Response.round_id)
        .options(joinedload(Response.questionnaire))
        .where(Response.pupil_id == pupil.id)
        .order_by(SurveyRound.opens_at, SurveyRound.id)
    ).all()
    response_ids = [r.id for r, _ in responses]
    scores: dict[int, dict[str, FactorScore]] = {rid: {} for rid in response_ids}
    answers: dict[int, dict[str, int]] = {rid: {} for rid in response_ids}
    if response_ids:
        for score in session.scalars(select(FactorScore).where(FactorScore.response_id.in_(response_ids))):
            scores[score.response_id][score.factor] = score
        for rid, item, value in session.execute(
            select(Answer.response_id, Answer.item, Answer.value).where(Answer.response_id.in_(response_ids))
        ):
            answers[rid][item] = value
    rounds = []
    for response, survey_round in responses:
        q = definition_of(response.questionnaire)
        flags = quality_flags(q, answers[response.id], pupil_seconds(response)) if response.finished_at else []
        rounds.append(RoundResult(survey_round, response, q, scores[response.id], answers[response.id], flags))

    finished = [r for r in rounds if r.finished]
    baseline = finished[0] if finished else None
    questionnaire = (finished[-1] if finished else rounds[-1]).questionnaire if rounds else None
    factors = []
    if questionnaire is not None:
        band_labels = {b.key: b.label for b in questionnaire.bands}
        bases = (rci_bases(session, baseline.round, questionnaire.factors, now, scope, threshold)
                 if baseline else {})
        for factor in questionnaire.factors:
            basis = bases.get(factor.key)
            base_score = baseline.scores.get(factor.key) if baseline else None
            cells = []
            for result in rounds:
                stored = result.scores.get(factor.key)
                change = None
                if (
                    result is not baseline and result.finished and stored is not None
                    and stored.score is not None and base_score is not None
                    and base_score.score is not None and basis is not None
                ):
                    change = reliable_change(base_score.score, stored.score, basis.sd, basis.alpha)
                cells.append(Cell(
                    score=stored.score if stored else None,
                    band=stored.band if stored else None,
                    band_label=band_labels.get(stored.band) if stored and stored.band else None,
                    items_answered=stored.items_answered if stored else
                    sum(1 for s in result.questionnaire.statements_of(factor.key) if s.id in result.answers),
                    items_total=len(result.questionnaire.statements_of(factor.key)),
                    change=change,
                ))
            row = FactorRow(factor, cells, basis)
            row.statements = [
                (s, [r.answers.get(s.id) for r in rounds]) for s in questionnaire.statements_of(factor.key)
            ]
            factors.append(row)
    support = session.scalars(
        select(SupportEntry).where(SupportEntry.pupil_id == pupil.id)
        .options(joinedload(SupportEntry.author))
        .order_by(SupportEntry.starts_on.desc(), SupportEntry.id.desc())
    ).all()
    return LearningProfile(pupil, rounds, factors, list(support), baseline, questionnaire)


def pupil_seconds(response: Response) -> int | None:
    """Return the pupil's own answering time, or None for answers typed in from paper
    (staff time says nothing about how fast the pupil answered)."""
    return response.seconds_spent if response.entered_by == "pupil" else None


def record_view(session: Session, staff_id: int, pupil_id: int, what: str, now: datetime) -> None:
    """Record that a member of staff viewed a pupil's data (read by the admin's audit log)."""
    session.add(AuditEvent(at=now, staff_id=staff_id, action=what, pupil_id=pupil_id, detail={}))


def pupil_interventions(session: Session, pupil_id: int) -> list[Intervention]:
    """Return every intervention that includes the pupil (the caller has checked the pupil's
    scope), newest first, with their notes."""
    return list(session.scalars(
        select(Intervention).join(intervention_members, intervention_members.c.intervention_id == Intervention.id)
        .where(intervention_members.c.pupil_id == pupil_id)
        .options(joinedload(Intervention.owner), selectinload(Intervention.notes))
        .order_by(Intervention.starts_on.desc(), Intervention.id.desc())))
