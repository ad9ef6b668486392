"""Which factors a conversation leads with and which it asks about, from one response.

A pupil's strengths are their highest factors that sit in the upper half of the bands
(so a pupil is never told they feel good about something their answers do not say);
the factors to talk about are the lowest of the rest. Plain data in and out: the pages,
sheets and family summaries word them from the questionnaire (Factor.strength,
Factor.invitations, Factor.family_*), never with a score or a band name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..questionnaires import Factor, Questionnaire

MAX_STRENGTHS = 3
MAX_FOCUS = 3
MAX_INVITATIONS = 3


@dataclass(frozen=True)
class Reading:
    """A response read for a conversation: strengths first, then the factors to discuss."""

    strengths: tuple[Factor, ...]
    focus: tuple[Factor, ...]

    def invitations(self, limit: int = MAX_INVITATIONS) -> list[str]:
        """Return up to `limit` invitation questions for the focus factors: the first of
        each factor's questions in turn, then the second, so the lowest factor leads."""
        out: list[str] = []
        depth = max((len(f.invitations) for f in self.focus), default=0)
        for i in range(depth):
            for f in self.focus:
                if i < len(f.invitations) and len(out) < limit:
                    out.append(f.invitations[i])
        return out


def read_scores(q: Questionnaire, scores: dict[str, tuple[float | None, str | None]]) -> Reading:
    """Return the strengths and focus factors of one response's stored scores
    ({factor key: (score, band key)}); factors without a score are left out of both."""
    rank = {b.key: i for i, b in enumerate(q.bands)}
    upper = len(q.bands) // 2
    scored = [(f, scores[f.key][0], rank.get(scores[f.key][1] or "", -1))
              for f in q.factors if f.key in scores and scores[f.key][0] is not None]
    order = {f.key: i for i, f in enumerate(q.factors)}
    best = sorted(scored, key=lambda t: (-t[1], order[t[0].key]))
    strengths = tuple(f for f, _score, band in best if band >= upper)[:MAX_STRENGTHS]
    top = len(q.bands) - 1
    rest = [(f, score) for f, score, band in scored if f not in strengths and band < top]
    focus = tuple(f for f, _ in sorted(rest, key=lambda t: (t[1], order[t[0].key])))[:MAX_FOCUS]
    return Reading(strengths, focus)
