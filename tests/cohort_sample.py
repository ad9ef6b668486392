"""Realistic cohort change reports built by hand, for the chart and export tests.

Nine factors, three rounds (so two comparisons), negative and positive changes, a whole
factor withheld in one comparison, withheld band-movement cells and distribution bins,
a withheld alpha, and a split into two sub-groups, one of whose names starts with "="
(to check that exports neutralise spreadsheet formulas).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from scipy import stats

from survey_app.scoring.cohort_report import (
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

FACTORS = [
    ("feelings_about_school", "Feelings about school"),
    ("perceived_learning_capability", "Perceived learning capability"),
    ("self_regard", "Self-regard as a learner"),
    ("preparedness_for_learning", "Preparedness for learning"),
    ("attitudes_to_teachers", "Attitudes to teachers"),
    ("general_work_ethic", "General work ethic"),
    ("confidence_in_learning", "Confidence in learning"),
    ("attitudes_to_attendance", "Attitudes to attendance"),
    ("response_to_curriculum", "Response to curriculum demands"),
]
BANDS = ["Concern", "Low", "Moderate", "Positive"]
THRESHOLD = 5
ROUNDS = [
    RoundInfo(11, "Autumn baseline", "before", datetime(2025, 9, 15, 8, 0, tzinfo=UTC)),
    RoundInfo(12, "Spring check-in", "during", datetime(2026, 1, 12, 8, 0, tzinfo=UTC)),
    RoundInfo(13, "Summer follow-up", "after", datetime(2026, 6, 22, 8, 0, tzinfo=UTC)),
]
GENERATED = datetime(2026, 7, 1, 13, 45, tzinfo=UTC)
# Mean change per factor for (spring, summer): some up, some down, one near zero.
SHIFTS = [(4.1, 7.8), (2.5, 5.2), (-1.2, -3.6), (6.0, 9.1), (0.4, -0.3),
          (3.2, 4.4), (-2.8, -6.5), (1.5, 2.0), (5.5, 8.3)]


def _change(rng: random.Random, key: str, n_base: int, n_paired: int, shift: float,
            before: float) -> FactorChange:
    sd = rng.uniform(9.0, 14.0)
    se = sd / math.sqrt(n_paired)
    crit = stats.t.ppf(0.975, n_paired - 1)
    t = shift / se
    p = float(2 * stats.t.sf(abs(t), n_paired - 1))
    dz = shift / sd
    improved = max(0, round(n_paired * (0.12 + max(shift, 0) / 40)))
    declined = max(0, round(n_paired * (0.08 + max(-shift, 0) / 40)))
    return FactorChange(
        factor=key, n_baseline=n_base, n_paired=n_paired, n_lost=n_base - n_paired,
        mean_before=before, mean_after=before + shift, mean_change=shift, sd_change=sd,
        ci_low=shift - crit * se, ci_high=shift + crit * se, t=t, p=p, p_holm=None,
        dz=dz, dz_low=dz - 0.28, dz_high=dz + 0.28,
        wilcoxon_w=float(rng.randint(200, 600)), wilcoxon_p=min(1.0, p * 1.1), wilcoxon_p_holm=None,
        wilcoxon_method="approx", improved=improved, unchanged=n_paired - improved - declined,
        declined=declined, rci_basis="alpha from this round; SD of the baseline scores", suppressed=False,
    )


def _withheld_change(key: str, n_base: int | None) -> FactorChange:
    none = None
    return FactorChange(
        factor=key, n_baseline=n_base, n_paired=none, n_lost=none, mean_before=none, mean_after=none,
        mean_change=none, sd_change=none, ci_low=none, ci_high=none, t=none, p=none, p_holm=none,
        dz=none, dz_low=none, dz_high=none, wilcoxon_w=none, wilcoxon_p=none, wilcoxon_p_holm=none,
        wilcoxon_method=None, improved=none, unchanged=none, declined=none,
        rci_basis="alpha from this round; SD of the baseline scores", suppressed=True,
    )


def _holm(changes: list[FactorChange]) -> list[FactorChange]:
    from dataclasses import replace

    from survey_app.scoring.cohort import holm

    adjusted = holm([c.p for c in changes])
    w_adjusted = holm([c.wilcoxon_p for c in changes])
    return [replace(c, p_holm=a, wilcoxon_p_holm=w) for c, a, w in zip(changes, adjusted, w_adjusted, strict=True)]


def _bands(rng: random.Random, key: str, n: int, shift: float, hide: bool) -> BandMovement:
    counts = [[0] * 4 for _ in range(4)]
    start = [round(n * s) for s in (0.15, 0.3, 0.35)]
    start.append(n - sum(start))
    for frm, people in enumerate(start):
        for _ in range(people):
            step = rng.choices([-1, 0, 1], weights=[0.2 - shift / 100, 0.6, 0.2 + shift / 100])[0]
            counts[frm][min(3, max(0, frm + step))] += 1
    cells: list[list[int | None]] = [list(row) for row in counts]
    rows: list[int | None] = [sum(r) for r in counts]
    cols: list[int | None] = [sum(counts[r][c] for r in range(4)) for c in range(4)]
    if hide:
        # Two small cells in one row and one column hidden, as complementary suppression would.
        for r, c in ((0, 1), (0, 0), (1, 0), (1, 1)):
            cells[r][c] = None
    down = sum(counts[r][c] for r in range(4) for c in range(4) if c < r)
    up = sum(counts[r][c] for r in range(4) for c in range(4) if c > r)
    stayed = n - down - up
    return BandMovement(factor=key, bands=list(BANDS), counts=cells, row_totals=rows,
                        column_totals=cols, total=n, moved_down=None if hide else down, stayed=stayed,
                        moved_up=None if hide else up)


def _distribution(rng: random.Random, key: str, n: int, shift: float, hide: bool) -> ChangeDistribution:
    edges = list(range(-40, 45, 10))
    weights = [math.exp(-(((lo + 5) - shift) / 14) ** 2) for lo in edges[:-1]]
    total = sum(weights)
    counts = [round(n * w / total) for w in weights]
    counts[len(counts) // 2] += n - sum(counts)
    bins = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        count: int | None = counts[i]
        if hide and 0 < counts[i] < THRESHOLD:
            count = None
        bins.append(ChangeBin(float(lo), float(hi), count))
    return ChangeDistribution(factor=key, bins=bins)


def cohort_result(label: str, seed: int, size: int, withheld_factor: str | None = "attitudes_to_attendance",
                  lift: float = 0.0) -> CohortResult:
    """Return one cohort's results: three rounds, two comparisons from the first round;
    `lift` is added to every change (to tell sub-groups apart)."""
    rng = random.Random(seed)
    means, reliability, comparisons = [], [], []
    befores = [rng.uniform(48, 72) for _ in FACTORS]
    for r, rnd in enumerate(ROUNDS):
        for f, (key, _name) in enumerate(FACTORS):
            mean = befores[f] + (SHIFTS[f][r - 1] + lift if r else 0.0)
            n = size - 4 * r
            if r == 2 and key == withheld_factor:
                means.append(RoundMean(rnd.id, key, None, None, None))
            else:
                means.append(RoundMean(rnd.id, key, n, mean, rng.uniform(12, 20)))
            alpha = None if (r == 1 and f == 4) else round(rng.uniform(0.62, 0.86), 3)
            reliability.append(Reliability(rnd.id, key, None if alpha is None else n - 3, 4, alpha))
    for c, later in enumerate(ROUNDS[1:]):
        changes, bands, distributions = [], [], []
        for f, (key, _name) in enumerate(FACTORS):
            n_base, n_paired = size, size - 4 * (c + 1)
            if c == 1 and key == withheld_factor:
                changes.append(_withheld_change(key, n_base))
                bands.append(BandMovement(key, list(BANDS), [[None] * 4 for _ in range(4)],
                                          [None] * 4, [None] * 4, None))
                distributions.append(ChangeDistribution(key, [ChangeBin(lo, lo + 10, None)
                                                              for lo in range(-40, 40, 10)]))
                continue
            shift = SHIFTS[f][c] + lift
            changes.append(_change(rng, key, n_base, n_paired, shift, befores[f]))
            bands.append(_bands(rng, key, n_paired, shift, hide=f in (2, 5)))
            distributions.append(_distribution(rng, key, n_paired, shift, hide=True))
        comparisons.append(Comparison(ROUNDS[0], later, _holm(changes), bands, distributions))
    return CohortResult(label=label, n_pupils=size, means=means, comparisons=comparisons,
                        reliability=reliability)


def sample_report(*, subgroups: bool = True, comparisons: int = 2,
                  selection_label: str = "Years 7, 8 · Free school meals · Group A") -> CohortReport:
    """Return a whole cohort report like the one the build code makes from the database."""
    main = cohort_result("All pupils in the selection", seed=1, size=64)
    split = [cohort_result("=Mentored", seed=2, size=30, withheld_factor=None, lift=2.5),
             cohort_result("Not mentored", seed=3, size=34, lift=-1.5)] if subgroups else []
    if comparisons == 1:
        main = _first_comparison_only(main)
        split = [_first_comparison_only(s) for s in split]
    rounds = ROUNDS[: comparisons + 1]
    return CohortReport(
        selection_label=selection_label,
        selection_query="year=7&year=8&fsm=1&group=4",
        questionnaire_key="pass9-secondary", questionnaire_version="1.0", questionnaire_hash="ab12cd34ef56",
        rounds=list(rounds), factors=[FactorInfo(k, n, f"About {n.lower()}.") for k, n in FACTORS],
        bands=list(BANDS), generated_at=GENERATED, threshold=THRESHOLD, main=main, subgroups=split,
        notes=["Pupils who joined after the first round are not counted in the change figures."],
    )


def _first_comparison_only(result: CohortResult) -> CohortResult:
    kept = {ROUNDS[0].id, ROUNDS[1].id}
    return CohortResult(
        label=result.label, n_pupils=result.n_pupils,
        means=[m for m in result.means if m.round_id in kept],
        comparisons=result.comparisons[:1],
        reliability=[r for r in result.reliability if r.round_id in kept],
    )
