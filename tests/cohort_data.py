"""Build cohorts with finished responses in several rounds, for the cohort report tests."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import Answer, FactorScore, Pupil, Response, SurveyRound
from survey_app.models.base import utcnow
from survey_app.models.upn import make_upn
from survey_app.pupil.answers import store_scores


def add_rounds(world, names=("During", "After")) -> list[SurveyRound]:
    """Add later rounds of the world's questionnaire, a week apart after world.round."""
    rounds = [world.round]
    for i, name in enumerate(names, start=1):
        r = SurveyRound(
            name=name, phase="during" if i < len(names) else "after",
            questionnaire_version_id=world.version.id,
            opens_at=world.round.opens_at + timedelta(days=7 * i),
            closes_at=world.round.closes_at + timedelta(days=7 * i), mode="page",
            partnership_id=world.round.partnership_id, school_id=world.round.school_id,
            groups=list(world.round.groups),
        )
        db.session.add(r)
        rounds.append(r)
    db.session.flush()
    return rounds


def add_pupils(world, n: int, start: int = 100, **attrs) -> list[Pupil]:
    pupils = [
        Pupil(school=world.school, upn=make_upn(201, 4000, 16, start + i), first_name=f"C{start + i}",
              surname="Cohort", year_group=7 + i % 3, **attrs)
        for i in range(n)
    ]
    db.session.add_all(pupils)
    world.group.pupils.extend(pupils)
    db.session.flush()
    return pupils


def answer(world, survey_round: SurveyRound, pupil: Pupil, values: dict[str, int]) -> Response:
    """Store a finished response with these answers and its factor scores."""
    now = utcnow()
    response = Response(round_id=survey_round.id, pupil_id=pupil.id,
                        questionnaire_version_id=survey_round.questionnaire_version_id,
                        started_at=now, last_activity_at=now, finished_at=now)
    db.session.add(response)
    db.session.flush()
    if values:
        db.session.execute(sa.insert(Answer), [
            {"response_id": response.id, "item": item, "value": v, "seq": i, "answered_at": now}
            for i, (item, v) in enumerate(values.items())
        ])
    store_scores(db.session, response, now)
    return response


def random_answers(q, rng: random.Random, level: float, skip: float = 0.0) -> dict[str, int]:
    """Answers around a level in 0..1 (reverse-worded statements answered the other way)."""
    values = sorted(o.value for o in q.scale)
    out = {}
    for s in q.statements:
        if rng.random() < skip:
            continue
        x = min(0.999, max(0.0, level + rng.gauss(0, 0.25)))
        v = values[int(x * len(values))]
        out[s.id] = (values[0] + values[-1] - v) if s.reversed else v
    return out


def fill(world, rounds, pupils, seed=1, gain=0.08, skip=0.02, attendance=1.0):
    """Every pupil answers every round (unless absent), rising by `gain` a round on average."""
    rng = random.Random(seed)
    for p in pupils:
        level = rng.uniform(0.2, 0.8)
        for i, r in enumerate(rounds):
            if i and rng.random() > attendance:
                continue
            answer(world, r, p, random_answers(world.q, rng, level + gain * i + rng.gauss(0, 0.05), skip))
    db.session.commit()


def scores_by_pupil(round_id: int) -> dict[tuple[int, str], float]:
    """{(pupil id, factor): score} of a round, straight from the stored scores."""
    rows = db.session.execute(
        sa.select(Response.pupil_id, FactorScore.factor, FactorScore.score)
        .join(Response, Response.id == FactorScore.response_id)
        .where(FactorScore.round_id == round_id, FactorScore.score.is_not(None))
    ).all()
    return {(p, f): s for p, f, s in rows}


def item_rows(q, round_id: int, factor: str, pupils=None, inside: bool = True) -> list[list[int]]:
    """Reverse-scored answers of pupils who answered every statement of a factor (only of
    `pupils`, or only of the others when `inside` is False, when given)."""
    statements = q.statements_of(factor)
    lo, hi = q.scale_min, q.scale_max
    query = (
        sa.select(Answer.response_id, Answer.item, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.round_id == round_id, Answer.item.in_([s.id for s in statements]))
    )
    if pupils is not None:
        chosen = Response.pupil_id.in_(list(pupils))
        query = query.where(chosen if inside else ~chosen)
    rows = db.session.execute(query).all()
    by_response: dict[int, dict[str, int]] = {}
    for rid, item, value in rows:
        by_response.setdefault(rid, {})[item] = value
    out = []
    for answers in by_response.values():
        if len(answers) == len(statements):
            out.append([(lo + hi - answers[s.id]) if s.reversed else answers[s.id] for s in statements])
    return out
