"""Build the cohort change report: database aggregates in, suppressed plain data out.

The queries (cohort.queries) return moments and histograms; the pure statistics
(scoring.cohort, scoring.reliability) turn them into intervals, effect sizes and
p-values; scoring.suppression withholds what describes too few pupils. Every number in
the returned CohortReport has passed through suppression.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Group, PupilFlag, School, SurveyRound
from ..questionnaires import Questionnaire
from ..scope import Scope
from ..scoring.change import RELIABLE, standard_error_of_difference
from ..scoring.cohort import holm, paired_change, wilcoxon_signed_rank
from ..scoring.reliability import alpha_from_moments
from ..scoring.suppression import (
    is_small,
    statistic_allowed,
    suppress_counts,
    suppress_split_tables,
    suppress_table,
)
from ..services.profiles import rci_bases
from ..services.questionnaire_store import definition_of
from . import queries
from .report import (
    BandMovement,
    ChangeBin,
    ChangeDistribution,
    CohortReport,
    CohortResult,
    Comparison,
    FactorChange,
    FactorInfo,
    Reliability,
    RoundInfo,
    RoundMean,
)
from .selection import SEN_CODES, CohortSelection, pupil_filter, split_condition

BIN_WIDTH = 10
# Bins centred on multiples of 10 points: [-105, -95), ..., [95, 105].
BIN_EDGES = [-105 + BIN_WIDTH * i for i in range(22)]


class CohortError(ValueError):
    """A selection that cannot be reported on; the message says why, in plain words."""


def cohort_report(
    session: Session, scope: Scope, selection: CohortSelection, now: datetime, threshold: int = 5,
) -> CohortReport:
    """Return the cohort change report for a selection, inside the staff member's scope."""
    rounds = selected_rounds(session, scope, selection)
    check_filters(session, scope, selection)
    baseline = rounds[0]
    q = definition_of(baseline.questionnaire)
    cohort = pupil_filter(selection, scope.aggregate_pupil_condition())
    split_inside = split_condition(selection.split)[0] if selection.split else None
    round_ids = [r.id for r in rounds]
    sides = [1, 0] if split_inside is not None else [0]

    aggregates = queries.round_aggregates(session, rounds, cohort, split_inside)
    moments, item_moments = aggregates.moments, aggregates.items
    counts = queries.pupil_counts(session, round_ids, cohort, split_inside)
    bases = rci_bases(session, baseline, q.factors, now)
    thresholds = {
        key: (RELIABLE * s if (s := standard_error_of_difference(b.sd, b.alpha)) is not None else None)
        for key, b in bases.items()
    }
    cells = queries.paired_cells(session, baseline, rounds[1:], cohort, split_inside)

    labels = split_labels(session, scope, selection)
    builder = _Builder(q, rounds, threshold, thresholds, {k: b.sd_source + "; " + b.alpha_source
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
    return " \u00b7 ".join(parts) if parts else "All pupils you can see"


class _Builder:
    """Turns aggregates of one or more sides into suppressed results."""

    def __init__(self, q: Questionnaire, rounds: list[SurveyRound], threshold: int,
                 rci_thresholds: dict[str, float | None], rci_sources: dict[str, str]):
        self.q = q
        self.rounds = rounds
        self.threshold = threshold
        self.rci_thresholds = rci_thresholds
        self.rci_sources = rci_sources
        self.band_keys = [b.key for b in q.bands]
        self.band_labels = [b.label for b in q.bands]
        self.withheld_factors: set[str] = set()
        self.any_cell_withheld = False

    # ----- one cohort --------------------------------------------------------------

    def result(self, label, sides, counts, moments, cells, item_moments, force=None) -> CohortResult:
        """Return the result over the union of `sides`; `force` carries cells withheld by a split."""
        force = force or {}
        n_pupils = sum(counts.get(s, 0) for s in sides)
        means = self._means(sides, moments, force.get("means", set()))
        comparisons = []
        for later in self.rounds[1:]:
            comparisons.append(self._comparison(sides, moments, cells[later.id], later, force.get(later.id, {})))
        reliability = self._reliability(sides, item_moments)
        # A withheld attrition count must not be recoverable from the baseline round's n.
        hidden_base = {c.factor for comp in comparisons for c in comp.factors if c.n_baseline is None}
        baseline_id = self.rounds[0].id
        means = [replace(m, n=None) if m.round_id == baseline_id and m.factor in hidden_base else m for m in means]
        return CohortResult(label, n_pupils if n_pupils == 0 or n_pupils >= self.threshold else None,
                            means, comparisons, reliability)

    def _means(self, sides, moments, forced: set[tuple[int, str]]) -> list[RoundMean]:
        out = []
        for r in self.rounds:
            for f in self.q.factors:
                m = _sum_moments(moments.get((s, r.id, f.key)) for s in sides)
                if m is None or not statistic_allowed(m[0], self.threshold) or (r.id, f.key) in forced:
                    if m is not None and m[0] > 0:
                        self.withheld_factors.add(f.key)
                    out.append(RoundMean(r.id, f.key, None if m and m[0] else 0, None, None))
                    continue
                n, total, total_sq = m
                sd = math.sqrt(max(0.0, (total_sq - total * total / n) / (n - 1))) if n > 1 else None
                out.append(RoundMean(r.id, f.key, n, total / n, sd))
        return out

    def _comparison(self, sides, moments, cells, later, forced) -> Comparison:
        baseline = self.rounds[0]
        mine = [c for c in cells if c.side in sides]
        by_factor: dict[str, list] = defaultdict(list)
        for c in mine:
            by_factor[c.factor].append(c)
        changes: list[FactorChange] = []
        bands: list[BandMovement] = []
        distributions: list[ChangeDistribution] = []
        for f in self.q.factors:
            fcells = by_factor.get(f.key, [])
            base = _sum_moments(moments.get((s, baseline.id, f.key)) for s in sides)
            n_base = base[0] if base else 0
            change = self._factor_change(f.key, fcells, n_base, f.key in forced.get("factors", set()))
            changes.append(change)
            bands.append(self._bands(f.key, fcells, change.suppressed, forced.get("bands", {}).get(f.key)))
            distributions.append(self._distribution(f.key, fcells, change.suppressed,
                                                    forced.get("bins", {}).get(f.key)))
        changes = _with_holm(changes)
        return Comparison(
            RoundInfo(baseline.id, baseline.name, baseline.phase, baseline.opens_at),
            RoundInfo(later.id, later.name, later.phase, later.opens_at),
            changes, bands, distributions,
        )

    def _factor_change(self, factor: str, cells, n_base: int, forced: bool) -> FactorChange:
        n = sum(c.n for c in cells)
        lost = max(0, n_base - n)
        if not statistic_allowed(n, self.threshold) or forced:
            if n > 0:
                self.withheld_factors.add(factor)
            return _withheld_change(factor, self.rci_sources.get(factor, ""))
        # Attrition: a small number who missed the later round is withheld together with the
        # baseline n (the paired n is shown with the statistics, so one of the two must go).
        small_loss = is_small(lost, self.threshold)
        if small_loss:
            self.any_cell_withheld = True
        paired = paired_change(
            n, sum(c.sum_before for c in cells), sum(c.sum_after for c in cells),
            sum(c.sum_diff for c in cells), sum(c.sum_diff_sq for c in cells),
        )
        w = wilcoxon_signed_rank(*_signed_ranks(cells))
        improved, unchanged, declined = self._reliable(factor, cells, n)
        return FactorChange(
            factor=factor, n_baseline=None if small_loss else n_base, n_paired=n,
            n_lost=None if small_loss else lost,
            mean_before=paired.mean_before, mean_after=paired.mean_after, mean_change=paired.mean_change,
            sd_change=paired.sd_change, ci_low=paired.ci_low, ci_high=paired.ci_high, t=paired.t,
            p=paired.p, p_holm=None, dz=paired.dz, dz_low=paired.dz_low, dz_high=paired.dz_high,
            wilcoxon_w=w.statistic if w.n else None, wilcoxon_p=w.p, wilcoxon_p_holm=None,
            wilcoxon_method=w.method if w.n else None,
            improved=improved, unchanged=unchanged, declined=declined,
            rci_basis=self.rci_sources.get(factor, ""), suppressed=False,
        )

    def _reliable(self, factor: str, cells, n: int) -> tuple[int | None, int | None, int | None]:
        limit = self.rci_thresholds.get(factor)
        if limit is None:
            return None, None, None
        up = sum(c.n for c in cells if c.change > limit)
        down = sum(c.n for c in cells if c.change < -limit)
        parts, _ = suppress_counts([up, n - up - down, down], self.threshold)
        if None in parts:
            self.any_cell_withheld = True
        return parts[0], parts[1], parts[2]

    def band_counts(self, cells) -> list[list[int]]:
        index = {k: i for i, k in enumerate(self.band_keys)}
        table = [[0] * len(self.band_keys) for _ in self.band_keys]
        for c in cells:
            if c.band_before in index and c.band_after in index:
                table[index[c.band_before]][index[c.band_after]] += c.n
        return table

    def movement_groups(self) -> list[list[tuple[int, int]]]:
        """Cells of the band table: moved down, stayed, moved up (bands lowest first)."""
        size = range(len(self.band_keys))
        return [[(r, c) for r in size for c in size if c < r], [(r, r) for r in size],
                [(r, c) for r in size for c in size if c > r]]

    def _bands(self, factor, cells, withheld: bool, table=None) -> BandMovement:
        if withheld:
            size = len(self.band_keys)
            return BandMovement(factor, self.band_labels, [[None] * size for _ in range(size)],
                                [None] * size, [None] * size, None)
        if table is None:
            table = suppress_table(self.band_counts(cells), self.threshold, groups=self.movement_groups())
        if table.hidden:
            self.any_cell_withheld = True
        down, stayed, up = table.group_totals
        return BandMovement(factor, self.band_labels, table.cells, table.row_totals, table.column_totals,
                            table.total, down, stayed, up)

    def bin_counts(self, cells) -> list[int]:
        counts = [0] * (len(BIN_EDGES) - 1)
        for c in cells:
            i = min(len(counts) - 1, max(0, int((c.change - BIN_EDGES[0]) // BIN_WIDTH)))
            counts[i] += c.n
        return counts

    def _distribution(self, factor, cells, withheld: bool, suppressed=None) -> ChangeDistribution:
        if withheld:
            values = [None] * (len(BIN_EDGES) - 1)
        elif suppressed is not None:
            values = suppressed
        else:
            values, _ = suppress_counts(self.bin_counts(cells), self.threshold)
        if None in values and not withheld:
            self.any_cell_withheld = True
        bins = [ChangeBin(BIN_EDGES[i], BIN_EDGES[i + 1], v) for i, v in enumerate(values)]
        return ChangeDistribution(factor, bins)

    def _reliability(self, sides, item_moments) -> list[Reliability]:
        out = []
        for r in self.rounds:
            q = definition_of(r.questionnaire)
            for f in q.factors:
                parts = [item_moments[r.id].get((s, f.key)) for s in sides]
                parts = [p for p in parts if p is not None]
                k = len(q.statements_of(f.key))
                if not parts:
                    out.append(Reliability(r.id, f.key, 0, k, None))
                    continue
                n = sum(p.n for p in parts)
                if not statistic_allowed(n, self.threshold):
                    out.append(Reliability(r.id, f.key, None if n else 0, k, None))
                    continue
                item_sums = [sum(v) for v in zip(*(p.item_sums for p in parts), strict=True)]
                item_sumsq = [sum(v) for v in zip(*(p.item_sumsq for p in parts), strict=True)]
                result = alpha_from_moments(n, item_sums, item_sumsq, sum(p.total_sum for p in parts),
                                            sum(p.total_sumsq for p in parts))
                out.append(Reliability(r.id, f.key, n, k, result.alpha))
        return out

    # ----- a split into two sub-groups ----------------------------------------------

    def split_results(self, labels, counts, moments, cells, item_moments) -> list[CohortResult]:
        """Return both sides, withholding on both whatever one side withholds."""
        force: dict = {"means": set()}
        for r in self.rounds:
            for f in self.q.factors:
                ns = [(moments.get((s, r.id, f.key)) or queries.Moments(0, 0, 0)).n for s in (1, 0)]
                if any(not statistic_allowed(n, self.threshold) for n in ns):
                    force["means"].add((r.id, f.key))
        for later in self.rounds[1:]:
            later_cells = cells[later.id]
            entry: dict = {"factors": set(), "bands": {}, "bins": {}}
            for f in self.q.factors:
                per_side = [[c for c in later_cells if c.side == s and c.factor == f.key] for s in (1, 0)]
                if any(not statistic_allowed(sum(c.n for c in side), self.threshold) for side in per_side):
                    entry["factors"].add(f.key)
                    continue
                tables = suppress_split_tables([self.band_counts(side) for side in per_side], self.threshold,
                                               self.movement_groups())
                bins = suppress_split_tables([[self.bin_counts(side)] for side in per_side], self.threshold)
                entry["bands"][f.key] = tables
                entry["bins"][f.key] = [t.cells[0] for t in bins]
            force[later.id] = entry
        results = []
        for position, (side, label) in enumerate(zip((1, 0), labels, strict=True)):
            side_force = {"means": force["means"]}
            for later in self.rounds[1:]:
                entry = force[later.id]
                side_force[later.id] = {
                    "factors": entry["factors"],
                    "bands": {k: v[position] for k, v in entry["bands"].items()},
                    "bins": {k: v[position] for k, v in entry["bins"].items()},
                }
            results.append(self.result(label, [side], counts, moments, cells, item_moments, side_force))
        return results

    def notes(self) -> list[str]:
        notes = []
        names = {f.key: f.name for f in self.q.factors}
        if self.withheld_factors:
            listed = ", ".join(names[f.key] for f in self.q.factors if f.key in self.withheld_factors)
            notes.append(
                f"Some figures for {listed} are withheld because they describe fewer than "
                f"{self.threshold} pupils."
            )
        if self.any_cell_withheld:
            notes.append(
                f"Some counts in the tables are withheld (fewer than {self.threshold} pupils, or a figure"
                " that would let a withheld one be worked out)."
            )
        return notes


def _sum_moments(items: Iterable[queries.Moments | None]) -> tuple[int, float, float] | None:
    present = [m for m in items if m is not None]
    if not present:
        return None
    return (sum(m.n for m in present), sum(m.total for m in present), sum(m.total_sq for m in present))


def _signed_ranks(cells) -> tuple[int, float, float]:
    """Return (non-zero pairs, W+, tie term) from the histogram of rounded changes."""
    by_size: dict[float, list[int]] = defaultdict(lambda: [0, 0])  # |change| -> [positive, negative]
    for c in cells:
        if c.change > 0:
            by_size[c.change][0] += c.n
        elif c.change < 0:
            by_size[-c.change][1] += c.n
    position = 0
    w_plus = 0.0
    tie_term = 0.0
    for size in sorted(by_size):
        pos, neg = by_size[size]
        t = pos + neg
        average_rank = position + (t + 1) / 2
        w_plus += pos * average_rank
        tie_term += t ** 3 - t
        position += t
    return position, w_plus, tie_term


def _withheld_change(factor: str, basis: str) -> FactorChange:
    return FactorChange(
        factor=factor, n_baseline=None, n_paired=None, n_lost=None, mean_before=None, mean_after=None,
        mean_change=None, sd_change=None, ci_low=None, ci_high=None, t=None, p=None, p_holm=None, dz=None,
        dz_low=None, dz_high=None, wilcoxon_w=None, wilcoxon_p=None, wilcoxon_p_holm=None,
        wilcoxon_method=None, improved=None, unchanged=None, declined=None, rci_basis=basis, suppressed=True,
    )


def _with_holm(changes: list[FactorChange]) -> list[FactorChange]:
    t_holm = holm([c.p for c in changes])
    w_holm = holm([c.wilcoxon_p for c in changes])
    return [replace(c, p_holm=tp, wilcoxon_p_holm=wp) for c, tp, wp in zip(changes, t_holm, w_holm, strict=True)]
