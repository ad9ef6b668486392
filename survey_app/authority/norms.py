"""Local norms: a versioned table of each factor's percentiles by year group over a
chosen reference (an authority's rounds, or one partnership's, between two dates), and
where a pupil's score stands among those local peers.

`compute_norms` is a plain function with explicit arguments, so the command line runs it
today and a job on the queue can run it later. It reads one value per pupil and factor
(the pupil's mean over the reference rounds): a job's work, never a page's. Only year
groups with at least `min_pupils` pupils get a cell, and only the 5th to 95th
percentiles are kept (scoring.norms), so no stored figure is one pupil's score. Every
table says what it is: "local reference, N pupils, dates", never "national".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..audit.log import record_event
from ..models import Partnership, Pupil, QuestionnaireVersion, ResponseScores, School, StaffUser, SurveyRound
from ..models.authority import Authority, NormCell, NormTable, authority_schools
from ..questionnaires.store import definition_of
from ..scoring.norms import NORM_PERCENTILES, norm_points, percentile_rank
from .queries import reference_scores

ALL_YEARS = -1  # the year_group of a cell over every year group of the reference
DEFAULT_MIN_PUPILS = 30


class NormError(ValueError):
    """A norm table that cannot be computed, in words."""


def reference_name(partnership: Partnership | None) -> str:
    return "authority" if partnership is None else f"partnership:{partnership.id}"


def compute_norms(session: Session, authority: Authority, partnership: Partnership | None, questionnaire_key: str,
                  date_from: date, date_to: date, now: datetime, min_pupils: int = DEFAULT_MIN_PUPILS,
                  staff: StaffUser | None = None) -> NormTable:
    """Compute and store the next version of the norm table of this reference: the
    percentiles of every factor by year group (and over all year groups) of the pupils of
    the reference's rounds opening between the two dates (inclusive).

    Refuses (NormError) dates the wrong way round, a partnership with no school in the
    authority, no round of that questionnaire in the period, or too few pupils for any
    cell. Does not commit.
    """
    if date_to < date_from:
        raise NormError("The period ends before it starts.")
    school_ids = select(authority_schools.c.school_id).where(authority_schools.c.authority_id == authority.id)
    if partnership is not None:
        school_ids = school_ids.where(authority_schools.c.school_id.in_(
            select(School.id).where(School.partnership_id == partnership.id)))
        if not session.scalars(school_ids).first():
            raise NormError(f"{partnership.name} has no school in {authority.name}.")
    owners = [SurveyRound.school_id.in_(school_ids)]
    owners.append(SurveyRound.partnership_id.in_(
        select(School.partnership_id).where(School.id.in_(school_ids), School.partnership_id.is_not(None))))
    rounds = list(session.scalars(
        select(SurveyRound).join(QuestionnaireVersion, QuestionnaireVersion.id == SurveyRound.questionnaire_version_id)
        .where(or_(*owners), QuestionnaireVersion.key == questionnaire_key,
               func.date(SurveyRound.opens_at) >= date_from, func.date(SurveyRound.opens_at) <= date_to)
        .order_by(SurveyRound.opens_at)))
    if not rounds:
        raise NormError(f"No round of {questionnaire_key} opened between {date_from} and {date_to}.")
    q = definition_of(rounds[-1].questionnaire)
    keys = [f.key for f in q.factors]
    rounds = [r for r in rounds if [f.key for f in definition_of(r.questionnaire).factors] == keys]
    scores = reference_scores(session, q, [r.id for r in rounds], school_ids)
    scored = ResponseScores.__table__
    pupils = session.scalar(select(func.count(func.distinct(scored.c.pupil_id))).select_from(scored)
                            .join(Pupil, Pupil.id == scored.c.pupil_id)
                            .where(scored.c.round_id.in_([r.id for r in rounds]), Pupil.school_id.in_(school_ids)))
    reference = reference_name(partnership)
    latest = session.scalar(select(func.max(NormTable.version)).where(
        NormTable.authority_id == authority.id, NormTable.reference == reference)) or 0
    table = NormTable(authority_id=authority.id, partnership_id=partnership.id if partnership else None,
                      reference=reference, version=latest + 1, questionnaire_key=questionnaire_key,
                      date_from=date_from, date_to=date_to, n=int(pupils or 0), computed_at=now)
    pooled: dict[str, list[float]] = {}
    for (factor, year), values in sorted(scores.items()):
        pooled.setdefault(factor, []).extend(values)
        if len(values) >= min_pupils:
            table.cells.append(NormCell(factor=factor, year_group=year, n=len(values), points=norm_points(values)))
    for factor, values in pooled.items():
        if len(values) >= min_pupils:
            table.cells.append(NormCell(factor=factor, year_group=ALL_YEARS, n=len(values), points=norm_points(values)))
    if not table.cells:
        raise NormError(f"Fewer than {min_pupils} pupils in every year group: no norm can be stored.")
    session.add(table)
    session.flush()
    record_event(session, staff.id if staff else None, "norms computed", authority=authority.name,
                 reference=reference, version=table.version, pupils=table.n, date_from=date_from, date_to=date_to)
    return table


def table_label(table: NormTable) -> str:
    """Return how a norm is always labelled: "local reference, N pupils, dates"."""
    return (f"local reference ({table.authority.name}{'' if table.partnership_id is None else ', one partnership'}),"
            f" {table.n} pupils, {table.date_from:%-d %b %Y} to {table.date_to:%-d %b %Y}")


@dataclass(frozen=True)
class PupilPercentile:
    factor: str
    where: str  # "below", "at", "above" (scoring.norms.percentile_rank)
    percentile: int
    year_group: int  # the cell's year group (ALL_YEARS when the pupil's own has too few pupils)

    @property
    def text(self) -> str:
        th = _ordinal(self.percentile)
        if self.where == "below":
            return f"below the {th} percentile"
        if self.where == "above":
            return f"above the {th} percentile"
        return f"at the {th} percentile"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def latest_table_for(session: Session, school_id: int, questionnaire_key: str) -> NormTable | None:
    """Return the newest norm table of the authority the school is in, for this questionnaire."""
    return session.scalar(
        select(NormTable).join(authority_schools, authority_schools.c.authority_id == NormTable.authority_id)
        .where(authority_schools.c.school_id == school_id, NormTable.questionnaire_key == questionnaire_key)
        .order_by(NormTable.computed_at.desc(), NormTable.id.desc()).limit(1))


def pupil_percentiles(table: NormTable, year_group: int, scores: dict[str, float | None]) -> dict[str, PupilPercentile]:
    """Return where each of a pupil's factor scores stands among the table's peers of the
    pupil's year group (or of every year group when that cell is missing)."""
    cells = {(c.factor, c.year_group): c for c in table.cells}
    out = {}
    for factor, score in scores.items():
        cell = cells.get((factor, year_group)) or cells.get((factor, ALL_YEARS))
        if score is None or cell is None:
            continue
        where, p = percentile_rank(float(score), cell.points)
        out[factor] = PupilPercentile(factor, where, p, cell.year_group)
    return out


def cutoffs_from_norms(table: NormTable, percentiles: tuple[int, ...]) -> dict[str, list[float]]:
    """Return, per factor, the scores at `percentiles` over every year group of the table:
    band cut-offs to put in a questionnaire file. Refuses a percentile the table does not keep."""
    missing = [p for p in percentiles if p not in NORM_PERCENTILES]
    if missing or list(percentiles) != sorted(set(percentiles)):
        raise NormError(f"Choose rising percentiles from {', '.join(map(str, NORM_PERCENTILES))}.")
    out = {}
    for cell in table.cells:
        if cell.year_group == ALL_YEARS:
            out[cell.factor] = [cell.points[NORM_PERCENTILES.index(p)] for p in percentiles]
    return out


@dataclass(frozen=True)
class LocalStanding:
    """Where a pupil's latest scores stand among local peers, with the label that must go with it."""

    label: str
    round_name: str
    percentiles: dict[str, PupilPercentile]


def local_standing(session: Session, pupil: Pupil, questionnaire_key: str, round_name: str,
                   scores: dict[str, float | None]) -> LocalStanding | None:
    """Return the pupil's percentiles among local peers in the newest norm table of their
    school's authority for this questionnaire, or None when there is none."""
    table = latest_table_for(session, pupil.school_id, questionnaire_key)
    if table is None:
        return None
    found = pupil_percentiles(table, pupil.year_group, scores)
    if not found:
        return None
    return LocalStanding(table_label(table), round_name, found)
