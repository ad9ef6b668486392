""""My results": what a pupil sees of their own answers when a round shares them.

Strengths first, in the pupil's words from the questionnaire (in the pupil's language when
they use a translation), then a few questions for the factors to think about; never a
score, a band name or another pupil. A round shares nothing unless staff turn it on
(RoundReviewSettings.show_results). The pupil's hopes are saved for their tutor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import FactorScore, Response
from ..models.reviews import PupilHope, RoundReviewSettings
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from ..questionnaires.translations import Translation, localised
from ..scoring.strengths import Reading, read_scores


@dataclass(frozen=True)
class PupilResults:
    response: Response
    questionnaire: Questionnaire
    reading: Reading
    hope: PupilHope | None


def results_shared(session: Session, round_id: int) -> bool:
    """Return True when staff have turned "My results" on for the round."""
    return bool(session.scalar(
        select(RoundReviewSettings.show_results).where(RoundReviewSettings.round_id == round_id)))


def results_for(session: Session, response_id: int, now: datetime,
                translation: Translation | None = None) -> PupilResults | None:
    """Return what the pupil of a finished response may see, or None when the response is
    not finished, its round is not open at `now`, or the round does not share results.

    With the `translation` of the response's questionnaire the pupil uses, the strengths
    and questions are worded in its language (another instrument's is ignored)."""
    response = session.get(Response, response_id)
    if (response is None or response.finished_at is None or response.round.state(now) != "open"
            or not results_shared(session, response.round_id)):
        return None
    q = definition_of(response.questionnaire)
    if translation is not None and translation.instrument == q.key:
        q = localised(q, translation)
    scores = {s.factor: (s.score, s.band) for s in session.scalars(
        select(FactorScore).where(FactorScore.response_id == response.id))}
    hope = session.scalar(select(PupilHope).where(
        PupilHope.pupil_id == response.pupil_id, PupilHope.round_id == response.round_id))
    return PupilResults(response, q, read_scores(q, scores), hope)


def save_hope(session: Session, response: Response, hopes: str, better_at: str, now: datetime) -> PupilHope:
    """Keep the pupil's hopes and the thing they want to get better at for their tutor
    (one per pupil and round; a later save replaces the words). Does not commit."""
    hope = session.scalar(select(PupilHope).where(
        PupilHope.pupil_id == response.pupil_id, PupilHope.round_id == response.round_id))
    if hope is None:
        hope = PupilHope(pupil_id=response.pupil_id, round_id=response.round_id)
        session.add(hope)
    hope.hopes, hope.better_at, hope.updated_at = hopes.strip(), better_at.strip(), now
    session.flush()
    return hope
