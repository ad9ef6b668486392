"""A brokered partnership's schools before and after its start: has the pairing worked?

For each paired school, its rounds (those its pupils answered) are split at the
partnership's start date. The change before is from the school's first round to its last
round before the start; the change after, from that last round before to its latest
round since. Each is a difference of two protected means (adjusted scores, counts as
shown) with Welch's 95% interval: the pupils differ between rounds, so it is not a
paired change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy.orm import Session

from ..models import SurveyRound
from ..models.authority import Authority, BrokeredPartnership
from ..privacy.disclosure import protect_count, shown
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from ..scoring.funnel import difference_interval
from .figures import BrokeredView, Cell, PairingChange
from .queries import SchoolMoments, school_round_moments

ROLE_LABELS = {"supported": "Supported school", "supporting": "Supporting school"}


def _mean_sd_n(m: SchoolMoments | None, threshold: int) -> tuple[float, float, int] | None:
    if m is None or m.n < threshold:
        return None
    n_shown = protect_count(m.n, m.protection, threshold)
    mean = m.total / m.n
    sd = math.sqrt(max(0.0, (m.total_sq - m.total * m.total / m.n) / (m.n - 1))) if m.n > 1 else 0.0
    return mean, sd, n_shown


def _change(a, b) -> Cell:
    if a is None or b is None:
        return Cell(None, None)
    diff, lower, upper = difference_interval(a[0], a[1], a[2], b[0], b[1], b[2])
    return Cell(min(a[2], b[2]), shown(diff, "score", True), shown(lower, "score", True), shown(upper, "score", True))


def brokered_views(session: Session, authority: Authority, partnerships: Sequence[BrokeredPartnership],
                   rounds: Sequence[SurveyRound], q: Questionnaire, factor: str, threshold: int
                   ) -> list[BrokeredView]:
    """Return, per brokered partnership, each paired school's change before and after the start."""
    school_ids = sorted({p.school_id for bp in partnerships for p in bp.pairings})
    keys = [f.key for f in q.factors]
    usable = [r for r in rounds if [f.key for f in definition_of(r.questionnaire).factors] == keys]
    sums = school_round_moments(session, q, factor, [r.id for r in usable], school_ids) if school_ids and usable else {}
    name = next(f.name for f in q.factors if f.key == factor)
    out = []
    for bp in partnerships:
        view = BrokeredView(bp.partnership.name, bp.started_on, name)
        for pairing in bp.pairings:
            mine = [r for r in usable if (r.id, pairing.school_id) in sums]
            before = [r for r in mine if r.opens_at.date() < bp.started_on]
            after = [r for r in mine if r.opens_at.date() >= bp.started_on]

            def stats(r, school_id=pairing.school_id):
                return _mean_sd_n(sums.get((r.id, school_id)), threshold)

            change_before = _change(stats(before[0]), stats(before[-1])) if len(before) >= 2 else Cell(None, None)
            change_after = _change(stats(before[-1]), stats(after[-1])) if before and after else Cell(None, None)
            view.schools.append(PairingChange(pairing.school.name, ROLE_LABELS.get(pairing.role, pairing.role),
                                              change_before, change_after))
        out.append(view)
    return out

