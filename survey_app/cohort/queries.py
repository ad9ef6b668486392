"""The database's share of the cohort report: a few GROUP BY queries over stored scores.

They read response_scores (models.ResponseScores: one row per finished response, its
factor scores side by side), so every join is one row per pupil and round. Each query
returns a handful of rows per factor whatever the number of pupils:

- per round, one pass for every factor: n, sum and sum of squares of the scores, and for
  Cronbach's alpha the same for each statement and for the factor total over pupils who
  answered every statement (unpacked from the stored item codes);
- per comparison, a histogram of paired changes (grouped by the change, rounded to 6
  decimals so equal changes tie, and by the bands at both rounds). The later rounds of
  one questionnaire version are one query, the factors turned into rows after the join.

The split of a cohort into two sub-groups is one more GROUP BY column ("side": 1 inside,
0 the rest), so a split costs no extra scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    case,
    column,
    func,
    literal,
    select,
    true,
    union_all,
    values,
)
from sqlalchemy.orm import Session

from ..models import Pupil, Response, ResponseScores, SurveyRound
from ..models.responses import slot
from ..questionnaires import Questionnaire
from ..services.questionnaire_store import definition_of

TIE_DECIMALS = 6
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


@dataclass(frozen=True)
class ItemMoments:
    """For pupils who answered every statement of a factor: per-statement sums and sums of
    squares (after reverse-scoring) and the same for the factor total."""

    n: int
    item_sums: list[float]
    item_sumsq: list[float]
    total_sum: float
    total_sumsq: float


@dataclass
class RoundAggregates:
    """What one pass over a round's rows gives: score moments by (side, round id, factor),
    and reliability sums by round id, then (side, factor)."""

    moments: dict[tuple[int, int, str], Moments]
    items: dict[int, dict[tuple[int, str], ItemMoments]]


def round_aggregates(
    session: Session, rounds: Sequence[SurveyRound], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> RoundAggregates:
    """Return the moments and reliability sums of every factor of every round, one query
    per questionnaire version (the rounds of a report normally share one)."""
    out = RoundAggregates({}, {r.id: {} for r in rounds})
    for q, round_ids in by_version(rounds):
        _round_pass(session, q, round_ids, cohort, split_inside, out)
    return out


def _round_pass(session, q: Questionnaire, round_ids, cohort, split_inside, out: RoundAggregates) -> None:
    lo, hi = q.scale_min, q.scale_max
    base = hi - lo + 1
    side = side_column(split_inside).label("side")
    columns: list = []
    layout: list[tuple[str, int, int]] = []  # (factor, first column, statements)
    for position, factor in enumerate(q.factors, start=1):
        score, _band, code = slot(position)
        k = len(q.statements_of(factor.key))
        layout.append((factor.key, len(columns), k))
        digits = [(code // (base ** i)) % base for i in range(k)]
        digit_total = sum(digits[1:], digits[0])
        columns += [func.count(score), func.sum(score), func.sum(score * score), func.count(code)]
        for d in digits:
            columns += [func.sum(d), func.sum(d * d)]
        columns += [func.sum(digit_total), func.sum(digit_total * digit_total)]
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
            if n:
                out.moments[(s, round_id, factor)] = Moments(n, float(total or 0), float(total_sq or 0))
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
            )


def pupil_counts(
    session: Session, round_ids: Sequence[int], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> dict[int, int]:
    """Return {side: pupils of the cohort with a finished response in any of the rounds}."""
    side = side_column(split_inside).label("side")
    rows = session.execute(
        select(side, func.count(func.distinct(Response.pupil_id)))
        .join(Pupil, Pupil.id == Response.pupil_id)
        .where(Response.round_id.in_(round_ids), Response.finished_at.is_not(None), cohort)
        .group_by(side)
    ).all()
    return {s: n for s, n in rows}


@dataclass(frozen=True, slots=True)
class PairedCell:
    """Pupils of one side with the same factor, rounded change and bands at both rounds."""

    side: int
    factor: str
    change: float  # rounded to TIE_DECIMALS (for ties, bins and reliable change)
    band_before: str | None
    band_after: str | None
    n: int
    sum_before: float
    sum_after: float
    sum_diff: float  # exact sums of the unrounded changes
    sum_diff_sq: float


def paired_cells(
    session: Session, baseline: SurveyRound, later: Sequence[SurveyRound], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> dict[int, list[PairedCell]]:
    """Return, for each later round, the histogram of paired changes from the baseline."""
    out: dict[int, list[PairedCell]] = {r.id: [] for r in later}
    before_q = definition_of(baseline.questionnaire)
    for after_q, round_ids in by_version(later):
        for round_id, cell in _paired_pass(session, before_q, after_q, baseline.id, round_ids, cohort,
                                           split_inside):
            out[round_id].append(cell)
    return out


def _paired_pass(session, before_q: Questionnaire, after_q: Questionnaire, baseline_id: int, round_ids,
                 cohort, split_inside):
    after_position = {f.key: i for i, f in enumerate(after_q.factors, start=1)}
    both = [(i, f.key) for i, f in enumerate(before_q.factors, start=1) if f.key in after_position]
    # (factor number, its position before, its position after) for factors both versions have.
    shared = [(n, i, after_position[key]) for n, (i, key) in enumerate(both)]
    keys = [key for _, key in both]
    if not shared:
        return []
    picked = _factors_as_rows(session, shared, baseline_id, round_ids, cohort, split_inside)
    diff = picked.c.after - picked.c.before
    # Rounded in floating point (cheaper than a NUMERIC cast): equal changes that differ only
    # in the last binary digit land on the same value.
    scale = 10 ** TIE_DECIMALS
    rounded = (func.round(diff * scale) / scale).label("d")
    groups = (picked.c.side, picked.c.round_id, picked.c.k, rounded, picked.c.band_before, picked.c.band_after)
    result = session.execute(
        select(*groups, func.count(), func.sum(picked.c.before), func.sum(picked.c.after), func.sum(diff),
               func.sum(diff * diff))
        .where(picked.c.before.is_not(None), picked.c.after.is_not(None))
        .group_by(*groups)
    )
    # One cell per row as the rows arrive, each band one shared string: thousands of cells
    # for a big cohort, so their size is the report's memory.
    bands = {b.key: b.key for q in (before_q, after_q) for b in q.bands}
    return [
        (r, PairedCell(s, keys[k], float(d), bands.get(b0, b0), bands.get(b1, b1), n, float(s0), float(s1),
                       float(sd), float(sq)))
        for s, r, k, d, b0, b1, n, s0, s1, sd, sq in result
    ]


def _factors_as_rows(session, shared, baseline_id: int, round_ids, cohort, split_inside):
    """Return a subquery with one row per pupil, later round and shared factor: side,
    round_id, k (the factor's number), before, after, band_before, band_after.

    Each pupil's baseline row is joined to their later rows first (one row per pupil and
    round), then turned into a row per factor: on PostgreSQL by a LATERAL VALUES list, on
    SQLite (no LATERAL) by a join to the factor numbers and CASE.
    """
    a, b = SCORES.alias("a"), SCORES.alias("b")
    side = side_column(split_inside).label("side")
    joined = a.join(Pupil, Pupil.id == a.c.pupil_id).join(
        b, and_(b.c.pupil_id == a.c.pupil_id, b.c.round_id.in_(round_ids)))
    where = and_(a.c.round_id == baseline_id, cohort)
    if session.get_bind().dialect.name == "postgresql":
        per_factor = values(
            column("k", Integer), column("before", Float), column("after", Float),
            column("band_before", String), column("band_after", String), name="per_factor",
        ).data([(n, slot(i, a)[0], slot(j, b)[0], slot(i, a)[1], slot(j, b)[1])
                for n, i, j in shared]).lateral()
        return (
            select(side, b.c.round_id, per_factor.c.k, per_factor.c.before, per_factor.c.after,
                   per_factor.c.band_before, per_factor.c.band_after)
            .select_from(joined.join(per_factor, true())).where(where).subquery("picked")
        )
    numbers = union_all(*(select(literal(n).label("k")) for n, _, _ in shared)).subquery("numbers")
    k = numbers.c.k

    def pick(alias, column: int, before: bool):  # column: 0 score, 1 band (as slot() returns)
        return case({n: slot(i if before else j, alias)[column] for n, i, j in shared}, value=k)

    return (
        select(side, b.c.round_id, k, pick(a, 0, True).label("before"),
               pick(b, 0, False).label("after"), pick(a, 1, True).label("band_before"),
               pick(b, 1, False).label("band_after"))
        .select_from(joined.join(numbers, true())).where(where).subquery("picked")
    )
