"""The figures of one cohort (or one side of a split): statistics, suppression, protection.

`FigureBuilder` turns the database's moments and histograms (cohort.queries) into the
report's plain data. Every figure passes through suppression (privacy.suppression) and
then, when it counts a pupil the viewer may not see one by one, through disclosure
control (privacy.disclosure): counts by their cell key, statistics rounded to what is
shown. The statistics of protected figures are worked out from adjusted scores (the
database adds each protected pupil's offset), so nothing needs adjusting here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from ..models import SurveyRound
from ..privacy.disclosure import NONE, PRIVACY_NOTE, Protection, protect_count, shown, total
from ..privacy.suppression import is_small, statistic_allowed, suppress_counts, suppress_split_tables, suppress_table
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from ..rounds.aggregates import Moments
from ..scoring.cohort import holm, paired_change, wilcoxon_signed_rank
from ..scoring.cohort_report import (
    BandMovement,
    ChangeBin,
    ChangeDistribution,
    CohortResult,
    Comparison,
    FactorChange,
    Reliability,
    RoundInfo,
    RoundMean,
)
from ..scoring.reliability import alpha_from_moments

BIN_WIDTH = 10
# Bins centred on multiples of 10 points: [-105, -95), ..., [95, 105].
BIN_EDGES = [-105 + BIN_WIDTH * i for i in range(22)]


class FigureBuilder:
    """Turns aggregates of one or more sides into suppressed, protected results."""

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
        self.any_protected = False

    def count(self, n: int | None, protection: Protection) -> int | None:
        """Return a (suppressed) count as shown, noting when it is protected."""
        if n and protection.protected:
            self.any_protected = True
        return protect_count(n, protection, self.threshold)

    # ----- one cohort --------------------------------------------------------------

    def result(self, label, sides, counts, moments, cells, item_moments, force=None) -> CohortResult:
        """Return the result over the union of `sides`; `force` carries cells withheld by a split."""
        force = force or {}
        n_pupils = sum(counts.get(s, (0, NONE))[0] for s in sides)
        pupils_protection = total([counts.get(s, (0, NONE))[1] for s in sides])
        means = self._means(sides, moments, force.get("means", set()))
        comparisons = []
        for later in self.rounds[1:]:
            comparisons.append(self._comparison(sides, moments, cells[later.id], later, force.get(later.id, {})))
        reliability = self._reliability(sides, item_moments)
        # A withheld attrition count must not be recoverable from the baseline round's n.
        hidden_base = {c.factor for comp in comparisons for c in comp.factors if c.n_baseline is None}
        baseline_id = self.rounds[0].id
        means = [replace(m, n=None) if m.round_id == baseline_id and m.factor in hidden_base else m for m in means]
        shown_pupils = n_pupils if n_pupils == 0 or n_pupils >= self.threshold else None
        return CohortResult(label, self.count(shown_pupils, pupils_protection), means, comparisons, reliability,
                            protected=pupils_protection.protected)

    def _means(self, sides, moments, forced: set[tuple[int, str]]) -> list[RoundMean]:
        out = []
        for r in self.rounds:
            for f in self.q.factors:
                m = _sum_moments(moments.get((s, r.id, f.key)) for s in sides)
                if m is None or not statistic_allowed(m.n, self.threshold) or (r.id, f.key) in forced:
                    if m is not None and m.n > 0:
                        self.withheld_factors.add(f.key)
                    out.append(RoundMean(r.id, f.key, None if m and m.n else 0, None, None))
                    continue
                p = m.protection
                sd = math.sqrt(max(0.0, (m.total_sq - m.total * m.total / m.n) / (m.n - 1))) if m.n > 1 else None
                out.append(RoundMean(r.id, f.key, self.count(m.n, p), shown(m.total / m.n, "score", p),
                                     shown(sd, "score", p), protected=p.protected))
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
            change = self._factor_change(f.key, fcells, base or Moments(0, 0, 0),
                                         f.key in forced.get("factors", set()))
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

    def _factor_change(self, factor: str, cells, base: Moments, forced: bool) -> FactorChange:
        n = sum(c.n for c in cells)
        lost = max(0, base.n - n)
        if not statistic_allowed(n, self.threshold) or forced:
            if n > 0:
                self.withheld_factors.add(factor)
            return _withheld_change(factor, self.rci_sources.get(factor, ""))
        paired_protection = total([c.protection for c in cells])
        p = paired_protection
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
            factor=factor, n_baseline=None if small_loss else self.count(base.n, base.protection),
            n_paired=self.count(n, p),
            n_lost=None if small_loss else self.count(lost, base.protection - paired_protection),
            mean_before=shown(paired.mean_before, "score", p), mean_after=shown(paired.mean_after, "score", p),
            mean_change=shown(paired.mean_change, "score", p), sd_change=shown(paired.sd_change, "score", p),
            ci_low=shown(paired.ci_low, "score", p), ci_high=shown(paired.ci_high, "score", p),
            t=shown(paired.t, "t", p), p=shown(paired.p, "p", p), p_holm=None, dz=shown(paired.dz, "effect", p),
            dz_low=shown(paired.dz_low, "effect", p), dz_high=shown(paired.dz_high, "effect", p),
            wilcoxon_w=shown(w.statistic, "rank", p) if w.n else None, wilcoxon_p=shown(w.p, "p", p),
            wilcoxon_p_holm=None, wilcoxon_method=w.method if w.n else None,
            improved=improved, unchanged=unchanged, declined=declined,
            rci_basis=self.rci_sources.get(factor, ""), suppressed=False, protected=p.protected,
        )

    def _reliable(self, factor: str, cells, n: int) -> tuple[int | None, int | None, int | None]:
        limit = self.rci_thresholds.get(factor)
        if limit is None:
            return None, None, None
        groups: list[list] = [[], [], []]  # reliably up, no reliable change, reliably down
        for c in cells:
            groups[0 if c.change > limit else 2 if c.change < -limit else 1].append(c)
        parts, _ = suppress_counts([sum(c.n for c in g) for g in groups], self.threshold)
        if None in parts:
            self.any_cell_withheld = True
        up, same, down = (self.count(part, total([c.protection for c in g]))
                          for part, g in zip(parts, groups, strict=True))
        return up, same, down

    def band_counts(self, cells) -> list[list[int]]:
        return [[sum(c.n for c in cell) for cell in row] for row in self._band_cells(cells)]

    def _band_cells(self, cells) -> list[list[list]]:
        index = {k: i for i, k in enumerate(self.band_keys)}
        table: list[list[list]] = [[[] for _ in self.band_keys] for _ in self.band_keys]
        for c in cells:
            if c.band_before in index and c.band_after in index:
                table[index[c.band_before]][index[c.band_after]].append(c)
        return table

    def movement_groups(self) -> list[list[tuple[int, int]]]:
        """Cells of the band table: moved down, stayed, moved up (bands lowest first)."""
        size = range(len(self.band_keys))
        return [[(r, c) for r in size for c in size if c < r], [(r, r) for r in size],
                [(r, c) for r in size for c in size if c > r]]

    def _bands(self, factor, cells, withheld: bool, table=None) -> BandMovement:
        size = len(self.band_keys)
        if withheld:
            return BandMovement(factor, self.band_labels, [[None] * size for _ in range(size)],
                                [None] * size, [None] * size, None)
        if table is None:
            table = suppress_table(self.band_counts(cells), self.threshold, groups=self.movement_groups())
        if table.hidden:
            self.any_cell_withheld = True
        guard = [[total([c.protection for c in cell]) for cell in row] for row in self._band_cells(cells)]
        rows = [total(row) for row in guard]
        columns = [total([guard[r][c] for r in range(size)]) for c in range(size)]
        groups = [total([guard[r][c] for r, c in group]) for group in self.movement_groups()]
        down, stayed, up = (self.count(v, p) for v, p in zip(table.group_totals, groups, strict=True))
        everyone = total(rows)
        return BandMovement(
            factor, self.band_labels,
            [[self.count(table.cells[r][c], guard[r][c]) for c in range(size)] for r in range(size)],
            [self.count(v, p) for v, p in zip(table.row_totals, rows, strict=True)],
            [self.count(v, p) for v, p in zip(table.column_totals, columns, strict=True)],
            self.count(table.total, everyone), down, stayed, up, protected=everyone.protected)

    def _bin_of(self, change: float) -> int:
        return min(len(BIN_EDGES) - 2, max(0, int((change - BIN_EDGES[0]) // BIN_WIDTH)))

    def bin_counts(self, cells) -> list[int]:
        counts = [0] * (len(BIN_EDGES) - 1)
        for c in cells:
            counts[self._bin_of(c.change)] += c.n
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
        guard = [NONE] * (len(BIN_EDGES) - 1)
        for c in cells:
            guard[self._bin_of(c.change)] += c.protection
        bins = [ChangeBin(BIN_EDGES[i], BIN_EDGES[i + 1], self.count(v, guard[i])) for i, v in enumerate(values)]
        return ChangeDistribution(factor, bins, protected=total(guard).protected)

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
                t_sum, t_sq = sum(p.total_sum for p in parts), sum(p.total_sumsq for p in parts)
                # Over pupils the viewer may see one by one only (queries mask the others'
                # answers), so alpha is an exact figure whatever the cohort holds.
                alpha = alpha_from_moments(n, item_sums, item_sumsq, t_sum, t_sq).alpha
                out.append(Reliability(r.id, f.key, n, k, alpha))
        return out

    # ----- a split into two sub-groups ----------------------------------------------

    def split_results(self, labels, counts, moments, cells, item_moments) -> list[CohortResult]:
        """Return both sides, withholding on both whatever one side withholds."""
        force: dict = {"means": set()}
        for r in self.rounds:
            for f in self.q.factors:
                ns = [(moments.get((s, r.id, f.key)) or Moments(0, 0, 0)).n for s in (1, 0)]
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
        if self.any_protected:
            notes.append(PRIVACY_NOTE + " " + ADJUSTMENT_NOTE)
        return notes


ADJUSTMENT_NOTE = (
    "Figures that include pupils you may not see one by one are worked out from adjusted scores: each such "
    "pupil\u2019s score is moved by a fixed amount (about 40 points either way, typically), different for every "
    "pupil and factor, and counts by up to 2. Means and changes stay close to the true ones when such pupils "
    "are few among many, or when there are hundreds of them; their confidence intervals and p-values include "
    "the adjustment (they are wider); effect sizes are smaller and SDs larger than the true ones; more of those "
    "pupils appear to change band or to change reliably than really did. Cronbach\u2019s alpha is worked out over "
    "the pupils you may see one by one only."
)


def _sum_moments(items: Iterable[Moments | None]) -> Moments | None:
    present = [m for m in items if m is not None]
    if not present:
        return None
    return Moments(sum(m.n for m in present), sum(m.total for m in present),
                           sum(m.total_sq for m in present), total([m.protection for m in present]))


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
    """Holm across factors, from the p-values as shown (rounded when protected)."""
    t_holm = holm([c.p for c in changes])
    w_holm = holm([c.wilcoxon_p for c in changes])
    return [replace(c, p_holm=shown(tp, "p", c.protected), wilcoxon_p_holm=shown(wp, "p", c.protected))
            for c, tp, wp in zip(changes, t_holm, w_holm, strict=True)]
