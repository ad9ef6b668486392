"""A round's scores summed by the database: the moments of every factor, and for
Cronbach's alpha the sums of each statement's answers (unpacked from the stored codes).

One pass over one row per pupil and round (response_scores) per questionnaire version,
for any set of pupils (a condition on Pupil) and an optional split into two sides.
Round statistics (statistics.py) and cohort reports (cohort.queries) read it.

Disclosure control (privacy.disclosure): given the condition on the pupils whom the viewer
may not see one by one (`protected`), every aggregate also counts those pupils and sums
their cell keys (a `Protection`), and their scores enter every sum with the
fixed offset stored beside them (response_scores.offset_i).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from ..models import Pupil, ResponseScores, SurveyRound
from ..models.responses import offset_column, slot
from ..privacy.disclosure import NONE, Protection
from ..privacy.keys import CELL_KEY_MODULUS
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of

SCORES = ResponseScores.__table__


def side_column(split_inside: ColumnElement[bool] | None):
    """Return the 'side' expression (1 in the sub-group, 0 the rest; 0 without a split)."""
    if split_inside is None:
        return literal(0)
    return case((split_inside, 1), else_=0)


def by_version(rounds: Sequence[SurveyRound]) -> list[tuple[Questionnaire, list[int]]]:
    """Return the rounds' ids grouped by questionnaire version, with its definition."""
    groups: dict[int, tuple[Questionnaire, list[int]]] = {}
    for r in rounds:
        groups.setdefault(r.questionnaire_version_id, (definition_of(r.questionnaire), []))[1].append(r.id)
    return list(groups.values())


@dataclass(frozen=True)
class Moments:
    n: int
    total: float
    total_sq: float
    protection: Protection = NONE


@dataclass(frozen=True)
class ItemMoments:
    """For pupils who answered every statement of a factor: per-statement sums and sums of
    squares (after reverse-scoring) and the same for the factor total."""

    n: int
    item_sums: list[float]
    item_sumsq: list[float]
    total_sum: float
    total_sumsq: float
    protection: Protection = NONE


@dataclass
class RoundAggregates:
    """What one pass over a round's rows gives: score moments by (side, round id, factor),
    and reliability sums by round id, then (side, factor)."""

    moments: dict[tuple[int, int, str], Moments]
    items: dict[int, dict[tuple[int, str], ItemMoments]]


class Protected:
    """SQL pieces for the pupils of an aggregate whom the viewer may not see one by one."""

    def __init__(self, condition: ColumnElement[bool]):
        self.condition = condition
        self.flag = case((condition, 1), else_=0)
        self.cell = case((condition, Pupil.cell_key), else_=0)

    def adjusted(self, score, offset):
        """The score as protected figures count it: with its offset when the pupil is protected.

        A protected pupil's score without a stored offset is left out (NULL), never counted exactly.
        """
        return score + case((self.condition, offset), else_=0)

    def count_and_key(self, present) -> list:
        """Aggregates: protected pupils for whom `present` holds, and their cell keys' sum."""
        return [func.sum(case((and_(self.condition, present), 1), else_=0)),
                func.sum(case((and_(self.condition, present), Pupil.cell_key), else_=0))]


def protection_of(count, key) -> Protection:
    return Protection(int(count or 0), int(key or 0) % CELL_KEY_MODULUS)


def round_aggregates(
    session: Session, rounds: Sequence[SurveyRound], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None, protected: ColumnElement[bool] | None = None,
    adjust: bool = True,
) -> RoundAggregates:
    """Return the moments and reliability sums of every factor of every round, one query
    per questionnaire version (the rounds of a report normally share one).

    With `protected` (a condition on Pupil), each figure also carries the Protection of the
    protected pupils it counts, and their scores enter the moments with their offsets
    (unless `adjust` is False: exact moments with the protection, for round statistics).
    """
    out = RoundAggregates({}, {r.id: {} for r in rounds})
    guard = Protected(protected) if protected is not None else None
    for q, round_ids in by_version(rounds):
        _round_pass(session, q, round_ids, cohort, split_inside, guard, adjust, out)
    return out


def _round_pass(session, q: Questionnaire, round_ids, cohort, split_inside, guard: Protected | None,
                adjust: bool, out: RoundAggregates) -> None:
    lo, hi = q.scale_min, q.scale_max
    base = hi - lo + 1
    side = side_column(split_inside).label("side")
    columns: list = []
    layout: list[tuple[str, int, int]] = []  # (factor, first column, statements)
    for position, factor in enumerate(q.factors, start=1):
        score, _band, code = slot(position)
        value = guard.adjusted(score, offset_column(position)) if guard is not None and adjust else score
        if guard is not None and adjust:
            # Cronbach's alpha of a protected cohort is worked out over the pupils the viewer may
            # see one by one only: answers, unlike scores, carry no offsets.
            code = case((guard.condition, None), else_=code)
        k = len(q.statements_of(factor.key))
        layout.append((factor.key, len(columns), k))
        digits = [(code // (base ** i)) % base for i in range(k)]
        digit_total = sum(digits[1:], digits[0])
        columns += [func.count(value), func.sum(value), func.sum(value * value), func.count(code)]
        for d in digits:
            columns += [func.sum(d), func.sum(d * d)]
        columns += [func.sum(digit_total), func.sum(digit_total * digit_total)]
        if guard is not None:
            columns += guard.count_and_key(value.is_not(None)) + guard.count_and_key(code.is_not(None))
    rows = session.execute(
        select(side, SCORES.c.round_id, *columns)
        .select_from(SCORES).join(Pupil, Pupil.id == SCORES.c.pupil_id)
        .where(SCORES.c.round_id.in_(round_ids), cohort)
        .group_by(side, SCORES.c.round_id)
    ).all()
    for row in rows:
        s, round_id, values_ = row[0], row[1], row[2:]
        for factor, at, k in layout:
            n, total, total_sq, n_coded = values_[at:at + 4]
            guarded = values_[at + 4 + 2 * k + 2:at + 4 + 2 * k + 6] if guard is not None else (0, 0, 0, 0)
            if n:
                out.moments[(s, round_id, factor)] = Moments(n, float(total or 0), float(total_sq or 0),
                                                             protection_of(*guarded[0:2]))
            if not n_coded:
                continue
            sums = [float(v or 0) for v in values_[at + 4:at + 4 + 2 * k + 2]]
            d_sums, d_sq = sums[0:2 * k:2], sums[1:2 * k:2]
            t_sum, t_sq = sums[2 * k], sums[2 * k + 1]
            m = n_coded
            # Digits are value - low: shift back to the scale (sums of x and x² from sums of d and d²).
            out.items[round_id][(s, factor)] = ItemMoments(
                m,
                [ds + m * lo for ds in d_sums],
                [dq + 2 * lo * ds + m * lo * lo for ds, dq in zip(d_sums, d_sq, strict=True)],
                t_sum + m * k * lo,
                t_sq + 2 * k * lo * t_sum + m * (k * lo) ** 2,
                protection_of(*guarded[2:4]),
            )


