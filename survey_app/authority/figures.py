"""The authority dashboard's figures: the database's sums turned into suppressed,
protected numbers (plain data for the page, the chart and the exports).

Every figure counts pupils the authority viewer may not see one by one, so every figure
is protected (privacy.disclosure): counts get their cell key's noise, means come from
adjusted scores and are rounded to what is shown, and intervals and funnel limits are
worked out from the counts as shown (so they reveal nothing the count does not).
Small counts are withheld (privacy.suppression), with complementary suppression across
the schools of a column so that no withheld school follows from the total.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from ..models import School, SurveyRound
from ..privacy.disclosure import PRIVACY_NOTE, protect_count, shown, total
from ..privacy.suppression import suppress_counts
from ..questionnaires import Questionnaire
from ..scoring.funnel import LEVELS, funnel_curve, funnel_limits, interval_for, outside
from .queries import Participation, SchoolMoments


@dataclass(frozen=True)
class Cell:
    """One school's figure for one factor: n as shown, mean (or change), its 95% interval."""

    n: int | None
    mean: float | None
    lower: float | None = None
    upper: float | None = None
    flag: str = ""  # "above"/"below" its 99.8% limits, "above-95"/"below-95" its 95% limits


@dataclass
class FactorTable:
    factor: str
    name: str
    cells: dict[int, Cell]  # by school id
    total: Cell
    sd: float | None = None  # SD of adjusted scores over every pupil (the funnel's spread)


@dataclass(frozen=True)
class ParticipationCell:
    invited: int | None
    finished: int | None

    @property
    def rate(self) -> float | None:
        if self.invited is None or self.finished is None or not self.invited:
            return None
        return min(100.0, 100 * self.finished / self.invited)


@dataclass(frozen=True)
class FunnelPoint:
    school: str
    n: int
    mean: float
    flag: str


@dataclass(frozen=True)
class Funnel:
    factor: str
    name: str
    centre: float
    points: list[FunnelPoint]
    curves: dict[float, list[tuple[int, float, float]]]  # level -> (n, lower, upper)


@dataclass(frozen=True)
class PairingChange:
    school: str
    role: str
    before: Cell  # change over the rounds before the start
    after: Cell  # change from the last round before the start to the latest after it


@dataclass
class BrokeredView:
    name: str
    started_on: date
    factor: str
    schools: list[PairingChange] = field(default_factory=list)
    note: str = ""


def _sd(n: int, total_: float, total_sq: float) -> float | None:
    if n < 2:
        return None
    return math.sqrt(max(0.0, (total_sq - total_ * total_ / n) / (n - 1)))


def protected_cells(moments: Sequence[SchoolMoments], school_ids: Sequence[int], threshold: int
                    ) -> tuple[dict[int, Cell], Cell, float | None]:
    """Return one factor's cells by school, the total over the schools and the overall SD,
    suppressed and protected. `moments` are that factor's sums (one per school at most)."""
    by_school = {m.school_id: m for m in moments}
    ids = list(school_ids)
    counts = [by_school[s].n if s in by_school else 0 for s in ids]
    parts, shown_total = suppress_counts(counts, threshold)
    cells: dict[int, Cell] = {}
    for school_id, part in zip(ids, parts, strict=True):
        m = by_school.get(school_id)
        if m is None:
            cells[school_id] = Cell(0, None)
            continue
        if part is None:
            cells[school_id] = Cell(None, None)
            continue
        cells[school_id] = _cell(m.n, m.total, m.total_sq, m.protection, threshold)
    n_all = sum(m.n for m in by_school.values() if m.school_id in set(ids))
    if not n_all or shown_total is None:
        return cells, Cell(None if n_all else 0, None), None
    t = sum(m.total for m in by_school.values() if m.school_id in set(ids))
    tsq = sum(m.total_sq for m in by_school.values() if m.school_id in set(ids))
    protection = total([m.protection for m in by_school.values() if m.school_id in set(ids)])
    sd = _sd(n_all, t, tsq)
    return cells, _cell(n_all, t, tsq, protection, threshold), shown(sd, "score", True)


def _cell(n: int, total_: float, total_sq: float, protection, threshold: int) -> Cell:
    if n < threshold:
        return Cell(None, None)
    n_shown = protect_count(n, protection, threshold)
    mean = total_ / n
    sd = _sd(n, total_, total_sq)
    if sd is None or n_shown is None or n_shown < 2:
        return Cell(n_shown, shown(mean, "score", True))
    lower, upper = interval_for(mean, sd, n_shown)
    return Cell(n_shown, shown(mean, "score", True), shown(lower, "score", True), shown(upper, "score", True))


def factor_tables(q: Questionnaire, moments: Sequence[SchoolMoments], schools: Sequence[School],
                  threshold: int) -> list[FactorTable]:
    """Return, per factor, every school's protected mean with its interval and the
    authority's, each school flagged when outside the funnel's limits."""
    by_factor: dict[str, list[SchoolMoments]] = defaultdict(list)
    for m in moments:
        by_factor[m.factor].append(m)
    ids = [s.id for s in schools]
    out = []
    for f in q.factors:
        cells, overall, sd = protected_cells(by_factor.get(f.key, []), ids, threshold)
        if overall.mean is not None and sd is not None:
            cells = {sid: _flagged(c, overall.mean, sd) for sid, c in cells.items()}
        out.append(FactorTable(f.key, f.name, cells, overall, sd))
    return out


def _flagged(cell: Cell, centre: float, sd: float) -> Cell:
    if cell.mean is None or not cell.n:
        return cell
    wide, narrow = (funnel_limits(centre, sd, [cell.n], level)[0] for level in sorted(LEVELS, reverse=True))
    side = "above" if cell.mean > centre else "below"
    if outside(cell.mean, wide):
        flag = side
    elif outside(cell.mean, narrow):
        flag = f"{side}-95"
    else:
        flag = ""
    return Cell(cell.n, cell.mean, cell.lower, cell.upper, flag)


def funnel_of(table: FactorTable, schools: Sequence[School]) -> Funnel | None:
    """Return the funnel plot's data for one factor, or None when the authority's mean is withheld."""
    if table.total.mean is None or table.sd is None:
        return None
    names = {s.id: s.name for s in schools}
    points = [FunnelPoint(names[sid], c.n, c.mean, c.flag) for sid, c in table.cells.items()
              if c.mean is not None and c.n]
    n_max = max([p.n for p in points] + [10]) * 1.2
    curves = {level: [(lim.n, lim.lower, lim.upper)
                      for lim in funnel_curve(table.total.mean, table.sd, int(n_max), level)] for level in LEVELS}
    return Funnel(table.factor, table.name, table.total.mean, points, curves)


def participation_cells(rows: Sequence[Participation], rounds: Sequence[SurveyRound], schools: Sequence[School],
                        threshold: int) -> dict[tuple[int, int], ParticipationCell]:
    """Return per (round id, school id) the pupils invited and finished, suppressed within
    each round (a column of schools with its total) and protected."""
    by_key = {(p.round_id, p.school_id): p for p in rows}
    out: dict[tuple[int, int], ParticipationCell] = {}
    for r in rounds:
        present = [s for s in schools if (r.id, s.id) in by_key]
        if not present:
            continue
        invited, _ = suppress_counts([by_key[(r.id, s.id)].invited for s in present], threshold)
        finished, _ = suppress_counts([by_key[(r.id, s.id)].finished for s in present], threshold)
        for s, inv, fin in zip(present, invited, finished, strict=True):
            p = by_key[(r.id, s.id)]
            out[(r.id, s.id)] = ParticipationCell(
                protect_count(inv, p.invited_protection, threshold) if inv is not None else None,
                protect_count(fin, p.finished_protection, threshold) if fin is not None else None)
    return out


NOTE = PRIVACY_NOTE
