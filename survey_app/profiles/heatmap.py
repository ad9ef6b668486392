"""A group's picture: pupils by the nine factors for one round, or the change between two.

A fixed number of queries (pupils, responses with scores, answers for the quality
checks, cached round statistics), whatever the size of the group.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..models import Answer, FactorScore, Group, Pupil, Response, SurveyRound, group_members, round_groups
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from ..scoring.change import ReliableChange, reliable_change
from ..scoring.quality import QualityFlag, quality_flags
from .queries import RciBasis, pupil_seconds, rci_bases

SORT_KEYS = ("name", "year")


@dataclass(frozen=True)
class HeatCell:
    score: float | None
    band: str | None
    change: ReliableChange | None = None


@dataclass
class PupilRow:
    pupil: Pupil
    status: str  # 'finished', 'in progress', 'not taken'
    cells: dict[str, HeatCell] = field(default_factory=dict)
    flags: list[QualityFlag] = field(default_factory=list)


@dataclass
class Heatmap:
    group: Group
    rounds: list[SurveyRound]
    round: SurveyRound | None
    compare: SurveyRound | None
    questionnaire: Questionnaire | None
    rows: list[PupilRow]
    medians: dict[str, float | None]
    bases: dict[str, RciBasis]


def group_rounds(session: Session, group: Group) -> list[SurveyRound]:
    """Return the rounds a group took part in, oldest first."""
    return list(session.scalars(
        select(SurveyRound)
        .join(round_groups, round_groups.c.round_id == SurveyRound.id)
        .where(round_groups.c.group_id == group.id)
        .order_by(SurveyRound.opens_at, SurveyRound.id)
    ))


def _responses(session: Session, round_id: int, pupil_ids: list[int]):
    rows = session.execute(
        select(Response, FactorScore)
        .outerjoin(FactorScore, FactorScore.response_id == Response.id)
        .where(Response.round_id == round_id, Response.pupil_id.in_(pupil_ids))
    ).all()
    responses: dict[int, Response] = {}
    scores: dict[int, dict[str, FactorScore]] = {}
    for response, score in rows:
        responses[response.pupil_id] = response
        if score is not None:
            scores.setdefault(response.pupil_id, {})[score.factor] = score
    return responses, scores


def build_heatmap(
    session: Session, scope: Scope, group: Group, round_id: int | None, compare_id: int | None,
    sort: str, descending: bool, now: datetime,
) -> Heatmap:
    """Return the heatmap of `group` (already checked against `scope`).

    `round_id` defaults to the latest round with finished responses; `compare_id` (a round
    of the group other than round_id) turns the cells into the change since that round.
    """
    rounds = group_rounds(session, group)
    by_id = {r.id: r for r in rounds}
    pupils = list(session.scalars(
        select(Pupil)
        .join(group_members, group_members.c.pupil_id == Pupil.id)
        .where(group_members.c.group_id == group.id, Pupil.archived.is_(False), scope.pupil_condition())
        .order_by(Pupil.surname, Pupil.first_name)
    ))
    pupil_ids = [p.id for p in pupils]
    chosen = by_id.get(round_id) if round_id else None
    if chosen is None and rounds:
        finished_rounds = set(session.scalars(
            select(Response.round_id).where(
                Response.round_id.in_(list(by_id)), Response.finished_at.is_not(None),
                Response.pupil_id.in_(pupil_ids))
        ))
        chosen = next((r for r in reversed(rounds) if r.id in finished_rounds), rounds[-1])
    compare = by_id.get(compare_id) if compare_id and compare_id != (chosen.id if chosen else None) else None
    if chosen is None:
        return Heatmap(group, rounds, None, None, None, [PupilRow(p, "not taken") for p in pupils], {}, {})

    q = definition_of(chosen.questionnaire)
    responses, scores = _responses(session, chosen.id, pupil_ids)
    base_scores: dict[int, dict[str, FactorScore]] = {}
    bases: dict[str, RciBasis] = {}
    if compare is not None:
        _, base_scores = _responses(session, compare.id, pupil_ids)
        bases = rci_bases(session, compare, q.factors, now, scope)
    answers: dict[int, dict[str, int]] = {}
    finished_ids = [r.id for r in responses.values() if r.finished_at is not None]
    if finished_ids:
        for rid, item, value in session.execute(
            select(Answer.response_id, Answer.item, Answer.value).where(Answer.response_id.in_(finished_ids))
        ):
            answers.setdefault(rid, {})[item] = value

    rows = []
    for pupil in pupils:
        response = responses.get(pupil.id)
        if response is None:
            rows.append(PupilRow(pupil, "not taken"))
            continue
        status = "finished" if response.finished_at is not None else "in progress"
        row = PupilRow(pupil, status)
        if status == "finished":
            row.flags = quality_flags(q, answers.get(response.id, {}), pupil_seconds(response))
        for factor in q.factors:
            stored = scores.get(pupil.id, {}).get(factor.key)
            score = stored.score if stored else None
            change = None
            base = base_scores.get(pupil.id, {}).get(factor.key) if compare else None
            if compare is not None and score is not None and base is not None and base.score is not None:
                basis = bases[factor.key]
                change = reliable_change(base.score, score, basis.sd, basis.alpha)
            row.cells[factor.key] = HeatCell(score, stored.band if stored else None, change)
        rows.append(row)

    def value_of(row: PupilRow, key: str):
        cell = row.cells.get(key)
        if cell is None:
            return None
        return cell.change.change if compare is not None and cell.change else cell.score

    factor_keys = {f.key for f in q.factors}
    if sort in factor_keys:
        present = [r for r in rows if value_of(r, sort) is not None]
        missing = [r for r in rows if value_of(r, sort) is None]
        present.sort(key=lambda r: value_of(r, sort), reverse=descending)
        rows = present + missing  # pupils without a score stay at the bottom either way
    elif sort == "year":
        rows.sort(key=lambda r: (r.pupil.year_group, r.pupil.surname), reverse=descending)
    elif descending:
        rows.reverse()

    medians = {}
    for factor in q.factors:
        values = [v for r in rows if (v := value_of(r, factor.key)) is not None]
        medians[factor.key] = statistics.median(values) if values else None
    return Heatmap(group, rounds, chosen, compare, q, rows, medians, bases)
