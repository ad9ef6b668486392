"""Per round and factor: mean, SD and Cronbach's alpha, aggregated by the database.

The database returns counts, sums and sums of squares (for alpha: per statement, after
reverse-scoring, over pupils who answered every statement of the factor); the pure
scoring code turns them into numbers. Results are cached in RoundFactorStats and
refreshed when more responses have finished or after STALE_AFTER.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, true
from sqlalchemy.orm import Session

from ..models import Pupil, Response, RoundFactorStats, SurveyRound
from ..pupil.answers import insert_for
from ..questionnaires.store import definition_of
from ..scoring.reliability import alpha_from_moments
from .aggregates import round_aggregates

STALE_AFTER = timedelta(minutes=10)
# Below this many baseline pupils, the questionnaire's reference values are used instead.
MIN_COHORT = 30


def _finished_count(session: Session, round_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Response)
        .where(Response.round_id == round_id, Response.finished_at.is_not(None))
    ) or 0


def compute_round_stats(
    session: Session, survey_round: SurveyRound, now: datetime
) -> dict[str, RoundFactorStats]:
    """Recompute and store the statistics of every factor of a round; return them by factor."""
    q = definition_of(survey_round.questionnaire)

    # Over every finished response, in one pass over its response_scores rows: score
    # moments, and alpha's sums from the packed answers stored with the scores.
    # Every pupil's record key is summed too (adjust=False: the moments stay exact), so the
    # figures can be shown protected to staff who may not see every pupil of the round.
    aggregates = round_aggregates(session, [survey_round], true(), None, protected=true(), adjust=False)
    finished = _finished_count(session, survey_round.id)
    items = aggregates.items[survey_round.id]
    values = []
    for factor in q.factors:
        m = aggregates.moments.get((0, survey_round.id, factor.key))
        n, total, total_sq = (m.n, m.total, m.total_sq) if m else (0, None, None)
        item = items.get((0, factor.key))
        mean = sd = None
        if n:
            mean = total / n
        if n and n > 1:
            variance = max(0.0, (total_sq - total * total / n) / (n - 1))
            sd = math.sqrt(variance)
        alpha, alpha_n = _alpha_of(item)
        values.append({
            "round_id": survey_round.id, "factor": factor.key, "n": n or 0, "mean": mean, "sd": sd,
            "alpha": alpha, "alpha_n": alpha_n, "finished_responses": finished, "computed_at": now,
            "key_sum": m.protection.key if m else 0, "alpha_key_sum": item.protection.key if item else 0,
        })
    # Two requests often compute the same round at once (teachers opening pages together):
    # an upsert lets the later one wait and overwrite, where delete-and-insert failed on the
    # unique (round, factor) with a 500 (benchmarks/load.py found it).
    table = RoundFactorStats.__table__
    stmt = insert_for(session, table)
    session.execute(delete(RoundFactorStats).where(
        RoundFactorStats.round_id == survey_round.id,
        RoundFactorStats.factor.not_in([f.key for f in q.factors])))
    session.connection().execute(stmt.on_conflict_do_update(
        index_elements=["round_id", "factor"],
        set_={key: stmt.excluded[key] for key in values[0] if key not in ("round_id", "factor")},
    ), values)
    rows = session.scalars(
        select(RoundFactorStats).where(RoundFactorStats.round_id == survey_round.id)
        .execution_options(populate_existing=True)
    ).all()
    return {r.factor: r for r in rows}


def _alpha_of(m) -> tuple[float | None, int]:
    """Return (alpha, n) from a factor's ItemMoments (None when fewer than 2 pupils)."""
    if m is None:
        return None, 0
    if m.n < 2:
        return None, m.n
    return alpha_from_moments(m.n, m.item_sums, m.item_sumsq, m.total_sum, m.total_sumsq).alpha, m.n


def round_hidden_from(session: Session, pupil_condition, survey_round: SurveyRound) -> bool:
    """Return whether a finished response of the round belongs to a pupil outside
    `pupil_condition` (the pupils a viewer may see one by one): then the round's
    statistics are protected figures for that viewer."""
    return session.scalar(
        select(Response.id).join(Pupil, Pupil.id == Response.pupil_id)
        .where(Response.round_id == survey_round.id, Response.finished_at.is_not(None), ~pupil_condition)
        .limit(1)
    ) is not None


def round_stats(session: Session, survey_round: SurveyRound, now: datetime) -> dict[str, RoundFactorStats]:
    """Return the cached statistics of a round, recomputing them when missing or stale."""
    rows = session.scalars(
        select(RoundFactorStats).where(RoundFactorStats.round_id == survey_round.id)
    ).all()
    if rows:
        newest = min(r.computed_at for r in rows)
        fresh = now - newest < STALE_AFTER
        if fresh or rows[0].finished_responses == _finished_count(session, survey_round.id):
            return {r.factor: r for r in rows}
    return compute_round_stats(session, survey_round, now)
