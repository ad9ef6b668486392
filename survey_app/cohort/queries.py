"""The database's share of the cohort report: a few GROUP BY queries over stored scores.

Each query returns a handful of rows per factor whatever the number of pupils: moments
per round, and for each comparison a histogram of paired changes (grouped by the change,
rounded to 6 decimals so equal changes tie, and by the bands at both rounds). The split
of a cohort into two sub-groups is one more GROUP BY column ("side": 1 inside, 0 the
rest), so a split costs no extra scan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from ..models import Answer, FactorScore, Pupil, Response
from ..questionnaires import Questionnaire

TIE_DECIMALS = 6


def side_column(split_inside: ColumnElement[bool] | None):
    """Return the 'side' expression (1 in the sub-group, 0 the rest; 0 without a split)."""
    if split_inside is None:
        return literal(0)
    return case((split_inside, 1), else_=0)


@dataclass(frozen=True)
class Moments:
    n: int
    total: float
    total_sq: float


def round_moments(
    session: Session, round_ids: Sequence[int], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> dict[tuple[int, int, str], Moments]:
    """Return {(side, round id, factor): n, sum and sum of squares of the scores}."""
    side = side_column(split_inside).label("side")
    rows = session.execute(
        select(
            side, FactorScore.round_id, FactorScore.factor,
            func.count(FactorScore.score), func.sum(FactorScore.score),
            func.sum(FactorScore.score * FactorScore.score),
        )
        .join(Response, Response.id == FactorScore.response_id)
        .join(Pupil, Pupil.id == Response.pupil_id)
        .where(FactorScore.round_id.in_(round_ids), FactorScore.score.is_not(None), cohort)
        .group_by(side, FactorScore.round_id, FactorScore.factor)
    ).all()
    return {(s, r, f): Moments(n, float(t or 0), float(sq or 0)) for s, r, f, n, t, sq in rows}


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


@dataclass(frozen=True)
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
    session: Session, baseline_id: int, later_id: int, cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> list[PairedCell]:
    """Return the histogram of paired changes from the baseline round to a later round."""
    fs0, fs1 = aliased(FactorScore), aliased(FactorScore)
    r0, r1 = aliased(Response), aliased(Response)
    diff = fs1.score - fs0.score
    # Rounded in floating point (cheaper than a NUMERIC cast): equal changes that differ only
    # in the last binary digit land on the same value.
    scale = 10 ** TIE_DECIMALS
    rounded = (func.round(diff * scale) / scale).label("d")
    side = side_column(split_inside).label("side")
    rows = session.execute(
        select(
            side, fs0.factor, rounded, fs0.band, fs1.band, func.count(),
            func.sum(fs0.score), func.sum(fs1.score), func.sum(diff), func.sum(diff * diff),
        )
        .select_from(fs0)
        .join(r0, r0.id == fs0.response_id)
        .join(Pupil, Pupil.id == r0.pupil_id)
        .join(r1, and_(r1.pupil_id == r0.pupil_id, r1.round_id == later_id))
        .join(fs1, and_(fs1.response_id == r1.id, fs1.factor == fs0.factor))
        .where(fs0.round_id == baseline_id, fs0.score.is_not(None), fs1.score.is_not(None), cohort)
        .group_by(side, fs0.factor, rounded, fs0.band, fs1.band)
    ).all()
    return [
        PairedCell(s, f, float(d), b0, b1, n, float(s0), float(s1), float(sd), float(sq))
        for s, f, d, b0, b1, n, s0, s1, sd, sq in rows
    ]


@dataclass(frozen=True)
class ItemMoments:
    """For pupils who answered every statement of a factor: per-statement sums and sums of
    squares (after reverse-scoring) and the same for the factor total."""

    n: int
    item_sums: list[float]
    item_sumsq: list[float]
    total_sum: float
    total_sumsq: float


def reliability_moments(
    session: Session, q: Questionnaire, round_id: int, cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> dict[tuple[int, str], ItemMoments]:
    """Return {(side, factor): ItemMoments} for one round: from the packed answers stored
    with the factor scores (one GROUP BY over factor_scores), or, when some complete
    scores were stored before answers were packed, from the answers themselves."""
    coded = _coded_moments(session, q, round_id, cohort, split_inside)
    if coded is not None:
        return coded
    return _answer_moments(session, q, round_id, cohort, split_inside)


def _coded_moments(
    session: Session, q: Questionnaire, round_id: int, cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> dict[tuple[int, str], ItemMoments] | None:
    lo, hi = q.scale_min, q.scale_max
    base = hi - lo + 1
    k_max = max((len(q.statements_of(f.key)) for f in q.factors), default=0)
    if not k_max:
        return {}
    side = side_column(split_inside).label("side")
    code = FactorScore.item_code
    digits = [(code // (base ** i)) % base for i in range(k_max)]
    digit_total = sum(digits[1:], digits[0])
    complete = and_(FactorScore.items_answered == FactorScore.items_total, FactorScore.score.is_not(None))
    columns = [func.count(code)]
    for d in digits:
        columns += [func.sum(d), func.sum(d * d)]
    columns += [func.sum(digit_total), func.sum(digit_total * digit_total)]
    rows = session.execute(
        select(side, FactorScore.factor, func.count(), *columns)
        .join(Response, Response.id == FactorScore.response_id)
        .join(Pupil, Pupil.id == Response.pupil_id)
        .where(FactorScore.round_id == round_id, complete, cohort)
        .group_by(side, FactorScore.factor)
    ).all()
    out: dict[tuple[int, str], ItemMoments] = {}
    for row in rows:
        s, factor, n_complete, n_coded = row[0], row[1], row[2], row[3]
        if n_coded != n_complete:
            return None  # scores stored before answers were packed: read the answers instead
        k = len(q.statements_of(factor))
        if not k:
            continue
        values = [float(v or 0) for v in row[4:]]
        d_sums, d_sq = values[0:2 * k_max:2][:k], values[1:2 * k_max:2][:k]
        t_sum, t_sq = values[2 * k_max], values[2 * k_max + 1]
        n = n_complete
        # Digits are value - low: shift back to the scale (sums of x and x² from sums of d and d²).
        out[(s, factor)] = ItemMoments(
            n,
            [ds + n * lo for ds in d_sums],
            [dq + 2 * lo * ds + n * lo * lo for ds, dq in zip(d_sums, d_sq, strict=True)],
            t_sum + n * k * lo,
            t_sq + 2 * k * lo * t_sum + n * (k * lo) ** 2,
        )
    return out


def _answer_moments(
    session: Session, q: Questionnaire, round_id: int, cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None,
) -> dict[tuple[int, str], ItemMoments]:
    """Return {(side, factor): ItemMoments} for one round, from the answers.

    Two GROUP BY queries: answers counted by (statement, value) over responses whose
    factor score shows every statement of that factor answered, and the factor scores of
    those responses (the factor total is a linear function of the score when every
    statement is answered: total = k * low + score * k * (high - low) / 100).
    """
    lo, hi = q.scale_min, q.scale_max
    side = side_column(split_inside).label("side")
    factor_of = case({s.id: s.factor for s in q.statements}, value=Answer.item, else_=None)
    complete = and_(FactorScore.items_answered == FactorScore.items_total, FactorScore.score.is_not(None))
    value_counts = session.execute(
        select(side, Answer.item, Answer.value, func.count())
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .join(Pupil, Pupil.id == Response.pupil_id)
        .join(FactorScore, and_(FactorScore.response_id == Response.id, FactorScore.factor == factor_of))
        .where(Response.round_id == round_id, complete, cohort)
        .group_by(side, Answer.item, Answer.value)
    ).all()
    score_moments = session.execute(
        select(side, FactorScore.factor, func.count(), func.sum(FactorScore.score),
               func.sum(FactorScore.score * FactorScore.score))
        .join(Response, Response.id == FactorScore.response_id)
        .join(Pupil, Pupil.id == Response.pupil_id)
        .where(FactorScore.round_id == round_id, complete, cohort)
        .group_by(side, FactorScore.factor)
    ).all()
    reversed_ = {s.id: s.reversed for s in q.statements}
    item_sum: dict[tuple[int, str], float] = defaultdict(float)
    item_sq: dict[tuple[int, str], float] = defaultdict(float)
    for s, item, value, n in value_counts:
        x = (lo + hi - value) if reversed_.get(item) else value
        item_sum[(s, item)] += x * n
        item_sq[(s, item)] += x * x * n
    out: dict[tuple[int, str], ItemMoments] = {}
    for s, factor, n, total, total_sq in score_moments:
        statements = q.statements_of(factor)
        k = len(statements)
        if not k:
            continue
        a, b = k * lo, k * (hi - lo) / 100
        total, total_sq = float(total or 0), float(total_sq or 0)
        out[(s, factor)] = ItemMoments(
            n,
            [item_sum[(s, st.id)] for st in statements],
            [item_sq[(s, st.id)] for st in statements],
            n * a + b * total,
            n * a * a + 2 * a * b * total + b * b * total_sq,
        )
    return out
