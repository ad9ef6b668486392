"""Helpers of the reviews tests: finished responses at chosen levels per factor."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AccessCode
from survey_app.models.base import utcnow
from survey_app.pupil.answers import GivenAnswer, finish_response, record_answers, start_or_resume
from survey_app.pupil.codes import issue_codes


def finish_with_levels(world, survey_round, pupil, levels: dict[str, int], default: int = 2, finished=True):
    """Give `pupil` a response to `survey_round` answering every statement of a factor at
    levels[factor] (1-4, default `default`), reversed statements mirrored; finish it."""
    issue_codes(db.session, survey_round, [pupil.id])
    access = db.session.scalar(sa.select(AccessCode).where(
        AccessCode.round_id == survey_round.id, AccessCode.pupil_id == pupil.id))
    now = utcnow()
    response = start_or_resume(db.session, access, now - timedelta(minutes=20))
    given = []
    for s in world.q.statements:
        v = levels.get(s.factor, default)
        given.append(GivenAnswer(s.id, 5 - v if s.reversed else v, 1))
    record_answers(db.session, response, given, now - timedelta(minutes=19))
    response.seconds_spent = 600
    if finished:
        finish_response(db.session, response, now - timedelta(minutes=10))
    db.session.commit()
    return response


def share_results(survey_round, on=True, **extra):
    from survey_app.models.reviews import RoundReviewSettings

    settings = db.session.get(RoundReviewSettings, survey_round.id) or RoundReviewSettings(round_id=survey_round.id)
    settings.show_results = on
    for k, v in extra.items():
        setattr(settings, k, v)
    db.session.add(settings)
    db.session.commit()
