"""The database's share of the cohort report: a few GROUP BY queries over stored scores.

They read response_scores (models.ResponseScores: one row per finished response, its
factor scores side by side), so every join is one row per pupil and round. Each query
returns a handful of rows per factor whatever the number of pupils:

- per round (rounds.aggregates, shared with round statistics), one pass for every factor:
  n, sum and sum of squares of the scores, and for Cronbach's alpha the same for each
  statement and for the factor total over pupils who answered every statement;
- the pupils counted, for the report's n;
- per comparison, a histogram of paired changes (grouped by the change, rounded to 6
  decimals so equal changes tie, and by the bands at both rounds). The later rounds of
  one questionnaire version are one query, the factors turned into rows after the join.

The split of a cohort into two sub-groups is one more GROUP BY column ("side": 1 inside,
0 the rest), so a split costs no extra scan.

Disclosure control (privacy.disclosure): given the condition on the pupils whom the viewer
may not see one by one (`protected`), every aggregate also counts those pupils and sums
their cell keys (a `Protection`), and their scores enter every sum with the
fixed offset stored beside them (response_scores.offset_i), bands and changes included.
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

from ..models import Pupil, Response, SurveyRound
from ..models.responses import offset_column, slot
from ..privacy.disclosure import NONE, Protection
from ..questionnaires import Factor, Questionnaire
from ..questionnaires.store import definition_of
from ..rounds.aggregates import SCORES, Protected, by_version, protection_of, side_column

TIE_DECIMALS = 6
PROTECTED_TIE_SCALE = 2  # protected pupils' changes are grouped to the nearest 1/2 point


def pupil_counts(
    session: Session, round_ids: Sequence[int], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None, protected: ColumnElement[bool] | None = None,
) -> dict[int, tuple[int, Protection]]:
    """Return {side: (pupils of the cohort with a finished response in any of the rounds,
    the protection of those pupils)}."""
    side = side_column(split_inside).label("side")
    where = (Response.round_id.in_(round_ids), Response.finished_at.is_not(None), cohort)
    if protected is None:
        rows = session.execute(
            select(side, func.count(func.distinct(Response.pupil_id)))
            .join(Pupil, Pupil.id == Response.pupil_id).where(*where).group_by(side)
        ).all()
        return {s: (n, NONE) for s, n in rows}
    guard = Protected(protected)
    pupils = (
        select(Response.pupil_id, side, guard.flag.label("flag"), guard.cell.label("cell"))
        .join(Pupil, Pupil.id == Response.pupil_id).where(*where).distinct().subquery("pupils")
    )
    rows = session.execute(
        select(pupils.c.side, func.count(), func.sum(pupils.c.flag), func.sum(pupils.c.cell))
        .group_by(pupils.c.side)
    ).all()
    return {s: (n, protection_of(count, key)) for s, n, count, key in rows}


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
    protection: Protection = NONE


def paired_cells(
    session: Session, baseline: SurveyRound, later: Sequence[SurveyRound], cohort: ColumnElement[bool],
    split_inside: ColumnElement[bool] | None, protected: ColumnElement[bool] | None = None,
) -> dict[int, list[PairedCell]]:
    """Return, for each later round, the histogram of paired changes from the baseline.

    With `protected`, protected pupils' scores (and so their changes and bands) are the
    adjusted ones, and each cell carries the Protection of the protected pupils in it.
    """
    out: dict[int, list[PairedCell]] = {r.id: [] for r in later}
    before_q = definition_of(baseline.questionnaire)
    guard = Protected(protected) if protected is not None else None
    for after_q, round_ids in by_version(later):
        for round_id, cell in _paired_pass(session, before_q, after_q, baseline.id, round_ids, cohort,
                                           split_inside, guard):
            out[round_id].append(cell)
    return out


def _paired_pass(session, before_q: Questionnaire, after_q: Questionnaire, baseline_id: int, round_ids,
                 cohort, split_inside, guard: Protected | None):
    after_position = {f.key: i for i, f in enumerate(after_q.factors, start=1)}
    both = [(i, f.key) for i, f in enumerate(before_q.factors, start=1) if f.key in after_position]
    # (factor number, its position before, its position after) for factors both versions have.
    shared = [(n, i, after_position[key]) for n, (i, key) in enumerate(both)]
    keys = [key for _, key in both]
    if not shared:
        return []
    picked = _factors_as_rows(session, shared, before_q, after_q, baseline_id, round_ids, cohort, split_inside,
                              guard)
    diff = picked.c.after - picked.c.before
    # Rounded in floating point (cheaper than a NUMERIC cast): equal changes that differ only
    # in the last binary digit land on the same value.
    scale = 10 ** TIE_DECIMALS
    rounded = func.round(diff * scale) / scale
    if guard is not None:
        # A protected pupil's change carries a continuous offset: grouped to the nearest half
        # point (for ties and bins), so the rows stay few however many pupils are protected.
        rounded = case((picked.c.flag == 1, func.round(diff * PROTECTED_TIE_SCALE) / PROTECTED_TIE_SCALE),
                       else_=rounded)
    rounded = rounded.label("d")
    groups = (picked.c.side, picked.c.round_id, picked.c.k, rounded, picked.c.band_before, picked.c.band_after)
    guarded = [func.sum(picked.c.flag), func.sum(picked.c.cell)] if guard is not None else []
    result = session.execute(
        select(*groups, func.count(), func.sum(picked.c.before), func.sum(picked.c.after), func.sum(diff),
               func.sum(diff * diff), *guarded)
        .where(picked.c.before.is_not(None), picked.c.after.is_not(None))
        .group_by(*groups)
    )
    # One cell per row as the rows arrive, each band one shared string: thousands of cells
    # for a big cohort, so their size is the report's memory.
    bands = {b.key: b.key for q in (before_q, after_q) for b in q.bands}
    if guard is None:
        return [
            (r, PairedCell(s, keys[k], float(d), bands.get(b0, b0), bands.get(b1, b1), n, float(s0), float(s1),
                           float(sd), float(sq)))
            for s, r, k, d, b0, b1, n, s0, s1, sd, sq in result
        ]
    return [
        (r, PairedCell(s, keys[k], float(d), bands.get(b0, b0), bands.get(b1, b1), n, float(s0), float(s1),
                       float(sd), float(sq), protection_of(count, key) if count else NONE))
        for s, r, k, d, b0, b1, n, s0, s1, sd, sq, count, key in result
    ]


def band_case(value, q: Questionnaire, factor: Factor):
    """Return SQL giving the band of a score `value` on `factor` (a cut-off belongs to the band above)."""
    band_keys = [b.key for b in q.bands]
    whens = [(value >= cutoff, key) for cutoff, key in zip(factor.cutoffs, band_keys[1:], strict=True)]
    return case(*reversed(whens), else_=band_keys[0])


def _factors_as_rows(session, shared, before_q: Questionnaire, after_q: Questionnaire, baseline_id: int, round_ids,
                     cohort, split_inside, guard: Protected | None):
    """Return a subquery with one row per pupil, later round and shared factor: side,
    round_id, k (the factor's number), before, after, band_before, band_after (and, with a
    guard, the pupil's protected flag and cell key, and adjusted scores and bands).

    Each pupil's baseline row is joined to their later rows first (one row per pupil and
    round), then turned into a row per factor: on PostgreSQL by a LATERAL VALUES list, on
    SQLite (no LATERAL) by a join to the factor numbers and CASE.
    """
    a, b = SCORES.alias("a"), SCORES.alias("b")
    side = side_column(split_inside).label("side")
    joined = a.join(Pupil, Pupil.id == a.c.pupil_id).join(
        b, and_(b.c.pupil_id == a.c.pupil_id, b.c.round_id.in_(round_ids)))
    where = and_(a.c.round_id == baseline_id, cohort)
    extra = [guard.flag.label("flag"), guard.cell.label("cell")] if guard is not None else []

    def scored(alias, position: int, q: Questionnaire, before: bool):
        """(score, band) of the factor in `position` of `alias`, adjusted for protected pupils."""
        score, band, _code = slot(position, alias)
        if guard is None:
            return score, band
        value = guard.adjusted(score, offset_column(position, alias))
        factor = q.factors[position - 1]
        return value, case((guard.condition, band_case(value, q, factor)), else_=band)

    pairs = {n: (scored(a, i, before_q, True), scored(b, j, after_q, False)) for n, i, j in shared}
    if session.get_bind().dialect.name == "postgresql":
        per_factor = values(
            column("k", Integer), column("before", Float), column("after", Float),
            column("band_before", String), column("band_after", String), name="per_factor",
        ).data([(n, before[0], after[0], before[1], after[1]) for n, (before, after) in pairs.items()]).lateral()
        return (
            select(side, b.c.round_id, per_factor.c.k, per_factor.c.before, per_factor.c.after,
                   per_factor.c.band_before, per_factor.c.band_after, *extra)
            .select_from(joined.join(per_factor, true())).where(where).subquery("picked")
        )
    numbers = union_all(*(select(literal(n).label("k")) for n, _, _ in shared)).subquery("numbers")
    k = numbers.c.k

    def pick(which: int, column: int):  # which: 0 before, 1 after; column: 0 score, 1 band
        return case({n: pair[which][column] for n, pair in pairs.items()}, value=k)

    return (
        select(side, b.c.round_id, k, pick(0, 0).label("before"), pick(1, 0).label("after"),
               pick(0, 1).label("band_before"), pick(1, 1).label("band_after"), *extra)
        .select_from(joined.join(numbers, true())).where(where).subquery("picked")
    )
