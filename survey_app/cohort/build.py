"""Build the cohort change report: database aggregates in, suppressed plain data out.

The queries (cohort.queries) return moments and histograms; the pure statistics
(scoring.cohort, scoring.reliability) turn them into intervals, effect sizes and
p-values; privacy.suppression withholds what describes too few pupils. Every number in
the returned CohortReport has passed through suppression.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..models import Group, PupilFlag, School, SurveyRound
from ..profiles.queries import rci_bases
from ..questionnaires.store import definition_of
from ..questionnaires.translations import language_label
from ..rounds.aggregates import round_aggregates
from ..scoring.change import RELIABLE, standard_error_of_difference
from ..scoring.cohort_report import CohortReport, CohortResult, FactorInfo, RoundInfo
from . import queries
from .figures import FigureBuilder
from .selection import SEN_CODES, CohortSelection, pupil_filter, split_condition


class CohortError(ValueError):
    """A selection that cannot be reported on; the message says why, in plain words."""


def cohort_report(
    session: Session, scope: Scope, selection: CohortSelection, now: datetime, threshold: int = 5,
    zone: str = "Europe/London",
) -> CohortReport:
    """Return the cohort change report for a selection, inside the staff member's scope.

    Refuses (CohortError, in words) fewer than two rounds, rounds of different
    questionnaires, or a round, school, group or flag outside the scope. Dates in the
    report are shown in `zone`."""
    rounds = selected_rounds(session, scope, selection)
    check_filters(session, scope, selection)
    baseline = rounds[0]
    q = definition_of(baseline.questionnaire)
    cohort = pupil_filter(selection, scope.aggregate_pupil_condition())
    # Pupils counted here whom the viewer may not see one by one: their figures are protected.
    protected = scope.protected_pupil_condition()
    split_inside = split_condition(selection.split, selection.round_ids)[0] if selection.split else None
    round_ids = [r.id for r in rounds]
    sides = [1, 0] if split_inside is not None else [0]

    aggregates = round_aggregates(session, rounds, cohort, split_inside, protected)
    moments, item_moments = aggregates.moments, aggregates.items
    counts = queries.pupil_counts(session, round_ids, cohort, split_inside, protected)
    bases = rci_bases(session, baseline, q.factors, now, scope=scope, threshold=threshold)
    thresholds = {
        key: (RELIABLE * s if (s := standard_error_of_difference(b.sd, b.alpha)) is not None else None)
        for key, b in bases.items()
    }
    cells = queries.paired_cells(session, baseline, rounds[1:], cohort, split_inside, protected)

    labels = split_labels(session, scope, selection)
    builder = FigureBuilder(q, rounds, threshold, thresholds, {k: b.sd_source + "; " + b.alpha_source
                                                               for k, b in bases.items()})
    main = builder.result(
        "Selected pupils", sides, counts, moments, cells, item_moments,
    )
    subgroups: list[CohortResult] = []
    if split_inside is not None:
        subgroups = builder.split_results(labels, counts, moments, cells, item_moments)

    info = baseline.questionnaire
    return CohortReport(
        selection_label=describe_selection(session, scope, selection),
        selection_query=selection.query_string(),
        questionnaire_key=info.key,
        questionnaire_version=str(info.version),
        questionnaire_hash=info.content_hash,
        rounds=[RoundInfo(r.id, r.name, r.phase, r.opens_at) for r in rounds],
        factors=[FactorInfo(f.key, f.name, f.description) for f in q.factors],
        bands=[b.label for b in q.bands],
        generated_at=now,
        threshold=threshold,
        main=main,
        subgroups=subgroups,
        notes=builder.notes(),
        protected=builder.any_protected,
        timezone=zone,
    )


def selected_rounds(session: Session, scope: Scope, selection: CohortSelection) -> list[SurveyRound]:
    """Return the chosen rounds in scope, oldest first; refuse fewer than two or mixed questionnaires."""
    if len(selection.round_ids) < 2:
        raise CohortError("Choose at least two rounds to compare.")
    rounds = list(session.scalars(
        select(SurveyRound).where(SurveyRound.id.in_(selection.round_ids), scope.round_condition())
    ))
    if len(rounds) != len(selection.round_ids):
        raise CohortError("One of the chosen rounds does not exist or is not yours to see.")
    keys = {r.questionnaire.key for r in rounds}
    if len(keys) > 1:
        raise CohortError(
            "The chosen rounds use different questionnaires (" + ", ".join(sorted(keys))
            + "); choose rounds of one questionnaire."
        )
    return sorted(rounds, key=lambda r: (r.opens_at, r.id))


def check_filters(session: Session, scope: Scope, selection: CohortSelection) -> None:
    """Refuse schools, groups or flags the staff member cannot see."""
    for ids, model, condition, what in (
        (selection.school_ids, School, scope.school_condition(), "schools"),
        (selection.group_ids, Group, scope.group_condition(), "groups"),
        (selection.flag_ids, PupilFlag, scope.flag_condition(), "flags"),
    ):
        if not ids:
            continue
        found = session.scalar(select(func.count()).select_from(model).where(model.id.in_(ids), condition))
        if found != len(ids):
            raise CohortError(f"One of the chosen {what} does not exist or is not yours to see.")


def split_labels(session: Session, scope: Scope, selection: CohortSelection) -> tuple[str, str]:
    """Return the names of the two sides of the split (inside, the rest)."""
    split = selection.split
    if split is None:
        return ("", "")
    if split.kind == "group":
        group = session.scalar(select(Group).where(Group.id == split.ident, scope.group_condition()))
        if group is None:
            raise CohortError("The group to compare does not exist or is not yours to see.")
        return (f"In {group.name}", f"Not in {group.name}")
    if split.kind == "flag":
        flag = session.scalar(select(PupilFlag).where(PupilFlag.id == split.ident, scope.flag_condition()))
        if flag is None:
            raise CohortError("The flag to compare does not exist or is not yours to see.")
        return (flag.name, f"Not {flag.name}")
    if split.kind == "lang":
        name = language_label(str(split.ident))
        return (f"Answered in {name}", f"Answered in other languages than {name}")
    return {
        "fsm": ("FSM", "Not FSM"),
        "eal": ("EAL", "Not EAL"),
        "sen": ("SEN (support or EHC plan)", "No SEN"),
    }[split.kind]


def describe_selection(session: Session, scope: Scope, selection: CohortSelection) -> str:
    """Return the selection in words, e.g. "Schools: Oak Primary · Years 7, 8 · FSM"."""
    parts: list[str] = []
    if selection.school_ids:
        names = session.scalars(select(School.name).where(
            School.id.in_(selection.school_ids), scope.school_condition()).order_by(School.name)).all()
        parts.append("Schools: " + ", ".join(names))
    if selection.group_ids:
        names = session.scalars(select(Group.name).where(
            Group.id.in_(selection.group_ids), scope.group_condition()).order_by(Group.name)).all()
        parts.append("Groups: " + ", ".join(names))
    if selection.year_groups:
        parts.append("Years " + ", ".join(str(y) for y in sorted(selection.year_groups)))
    if selection.genders:
        parts.append("Gender: " + ", ".join(selection.genders))
    if selection.sen:
        parts.append("SEN: " + ", ".join(SEN_CODES[s] for s in selection.sen))
    if selection.fsm is not None:
        parts.append("FSM" if selection.fsm else "Not FSM")
    if selection.eal is not None:
        parts.append("EAL" if selection.eal else "Not EAL")
    if selection.flag_ids:
        names = session.scalars(select(PupilFlag.name).where(
            PupilFlag.id.in_(selection.flag_ids), scope.flag_condition()).order_by(PupilFlag.name)).all()
        parts.append("Flags: " + ", ".join(names))
    if selection.languages:
        parts.append("Answered in " + ", ".join(language_label(c) for c in selection.languages))
    return " \u00b7 ".join(parts) if parts else "All pupils you can see"
