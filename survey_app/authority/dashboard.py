"""The authority dashboard assembled: a selection of rounds parsed and checked, then every
figure (participation, school means with intervals, the funnel, change per school, the
brokered partnerships) as plain data for the page and the exports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..models import School, SurveyRound
from ..models.authority import Authority
from ..privacy.disclosure import PRIVACY_NOTE
from ..questionnaires import Questionnaire
from .brokered import brokered_views
from .figures import BrokeredView, FactorTable, Funnel, ParticipationCell, factor_tables, funnel_of, participation_cells
from .queries import (
    AuthorityError,
    brokered_of,
    paired_moments,
    participation,
    questionnaire_of,
    rounds_of,
    school_moments,
    schools_of,
)

# Rounds opening within this many days of the latest are taken together by default: a
# trust runs the survey in every school in the same week, each school in its own round.
WAVE_DAYS = 30
PARTICIPATION_ROUNDS = 12


@dataclass
class Selection:
    round_ids: list[int]
    compare_ids: list[int]
    factor: str | None
    errors: list[str] = field(default_factory=list)


@dataclass
class Dashboard:
    authority: Authority
    schools: list[School]
    rounds: list[SurveyRound]  # every round of the authority, oldest first
    selected: list[SurveyRound]
    compared: list[SurveyRound]
    questionnaire: Questionnaire | None
    factor: str | None
    participation_rounds: list[SurveyRound]
    participation: dict[tuple[int, int], ParticipationCell]
    tables: list[FactorTable]
    funnel: Funnel | None
    changes: list[FactorTable]
    brokered: list[BrokeredView]
    threshold: int
    generated_at: datetime
    errors: list[str] = field(default_factory=list)
    privacy_note: str = PRIVACY_NOTE
    lag_notice: str | None = None  # how far behind the replica read is, past a minute

    @property
    def factor_name(self) -> str:
        if self.questionnaire is None or self.factor is None:
            return ""
        return next(f.name for f in self.questionnaire.factors if f.key == self.factor)


def _ids(values: Sequence[str], label: str, errors: list[str]) -> list[int]:
    out = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            errors.append(f"{label}: “{v[:20]}” is not a round.")
    return out


def parse_selection(args: Mapping[str, Sequence[str]]) -> Selection:
    """Return the rounds (`round`), the earlier rounds to compare with (`compare`) and the
    factor (`factor`) asked for in query values; problems in words in `errors`."""
    errors: list[str] = []
    factor = (list(args.get("factor", [])) or [None])[0] or None
    return Selection(_ids(args.get("round", []), "Rounds", errors), _ids(args.get("compare", []), "Compare", errors),
                     factor, errors)


def default_wave(rounds: Sequence[SurveyRound]) -> list[SurveyRound]:
    """Return the latest round and those opening within WAVE_DAYS before it."""
    if not rounds:
        return []
    latest = max(r.opens_at for r in rounds)
    return [r for r in rounds if latest - r.opens_at <= timedelta(days=WAVE_DAYS)]


def build_dashboard(session: Session, authority: Authority, selection: Selection, threshold: int,
                    now: datetime) -> Dashboard:
    """Return the dashboard for `selection`; a selection naming rounds outside the
    authority, or mixing questionnaires, is refused with its reason in `errors` (and
    the figures left empty)."""
    errors = list(selection.errors)
    schools = schools_of(session, authority)
    rounds = rounds_of(session, authority)
    by_id = {r.id: r for r in rounds}
    unknown = [i for i in selection.round_ids + selection.compare_ids if i not in by_id]
    if unknown:
        errors.append("Some of the rounds chosen are not this authority’s.")
    selected = [by_id[i] for i in selection.round_ids if i in by_id] or (
        [] if selection.round_ids else default_wave(rounds))
    compared = [by_id[i] for i in selection.compare_ids if i in by_id]
    if set(r.id for r in selected) & set(r.id for r in compared):
        errors.append("A round cannot be compared with itself: choose earlier rounds to compare with.")
    recent = rounds[-PARTICIPATION_ROUNDS:]
    board = Dashboard(authority, schools, rounds, selected, compared, None, None, recent,
                      participation_cells(participation(session, authority, [r.id for r in recent]), recent,
                                          schools, threshold),
                      [], None, [], [], threshold, now, errors)
    if errors or not selected:
        return board
    try:
        q = questionnaire_of(selected + compared)
    except AuthorityError as exc:
        errors.append(str(exc))
        return board
    factor = selection.factor if selection.factor in {f.key for f in q.factors} else q.factors[0].key
    if selection.factor and selection.factor != factor:
        errors.append("That factor is not in the questionnaire of these rounds: showing the first factor.")
    board.questionnaire, board.factor = q, factor
    board.tables = factor_tables(q, school_moments(session, authority, selected), schools, threshold)
    chosen = next(t for t in board.tables if t.factor == factor)
    board.funnel = funnel_of(chosen, schools)
    if compared:
        board.changes = factor_tables(q, paired_moments(session, authority, compared, selected), schools, threshold)
        for t in board.changes:  # a change has no funnel: its flags would compare against the mean change
            t.cells = {sid: type(c)(c.n, c.mean, c.lower, c.upper) for sid, c in t.cells.items()}
    board.brokered = brokered_views(session, authority, brokered_of(session, authority), rounds, q, factor, threshold)
    return board
