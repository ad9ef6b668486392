"""The cohort change report as plain data: what the page, the charts and every export read.

Built by `survey_app.cohort.build.cohort_report` from database aggregates; holds numbers
that have already passed through suppression (a withheld number is None, and the
matching `*_suppressed` flag or note says why). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..privacy.disclosure import PRIVACY_NOTE


@dataclass(frozen=True)
class RoundInfo:
    id: int
    name: str
    phase: str
    opens_at: datetime


@dataclass(frozen=True)
class FactorInfo:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class RoundMean:
    """Mean score of the cohort's pupils who have a score on this factor in this round."""

    round_id: int
    factor: str
    n: int | None  # None when suppressed
    mean: float | None
    sd: float | None
    protected: bool = False  # counts pupils the viewer may not see one by one (privacy.disclosure)


@dataclass(frozen=True)
class FactorChange:
    """Paired change on one factor from the baseline round to a later round."""

    factor: str
    n_baseline: int | None  # cohort pupils with a score in the baseline round
    n_paired: int | None  # ... and in the later round
    n_lost: int | None  # attrition: baseline but not the later round
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    sd_change: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    p: float | None
    p_holm: float | None
    dz: float | None  # Cohen's d_z: mean change / SD of the changes
    dz_low: float | None
    dz_high: float | None
    wilcoxon_w: float | None  # min(W+, W-)
    wilcoxon_p: float | None
    wilcoxon_p_holm: float | None
    wilcoxon_method: str | None  # 'exact' or 'approx'
    improved: int | None  # reliable improvement (Jacobson-Truax)
    unchanged: int | None
    declined: int | None
    rci_basis: str  # where the SD and alpha for reliable change came from
    suppressed: bool  # the whole factor withheld (paired n below the threshold)
    protected: bool = False  # figures adjusted for pupils the viewer may not see one by one


@dataclass(frozen=True)
class BandMovement:
    """How many pupils moved from each band (rows, baseline) to each band (columns, later)."""

    factor: str
    bands: list[str]
    counts: list[list[int | None]]  # counts[from][to]; None = suppressed
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    # Pupils who moved to a lower band, stayed in theirs, moved to a higher band (bands lowest
    # first); suppressed together with the table, so no cell can be worked out from them.
    moved_down: int | None = None
    stayed: int | None = None
    moved_up: int | None = None
    protected: bool = False


@dataclass(frozen=True)
class ChangeBin:
    low: float  # change in points, low <= change < high (the last bin includes high)
    high: float
    count: int | None  # None = suppressed


@dataclass(frozen=True)
class ChangeDistribution:
    factor: str
    bins: list[ChangeBin]
    protected: bool = False


@dataclass(frozen=True)
class Reliability:
    """Cronbach's alpha of one factor in one round, over the cohort's pupils who answered
    every statement of the factor."""

    round_id: int
    factor: str
    n: int | None
    statements: int
    alpha: float | None
    protected: bool = False


@dataclass(frozen=True)
class Comparison:
    """Change from the baseline round to one later round, for one (sub-)cohort."""

    baseline: RoundInfo
    later: RoundInfo
    factors: list[FactorChange]
    bands: list[BandMovement]
    distributions: list[ChangeDistribution]

    def factor(self, key: str) -> FactorChange:
        return next(f for f in self.factors if f.factor == key)


@dataclass(frozen=True)
class CohortResult:
    """Everything computed for one cohort (the whole selection, or one side of a split)."""

    label: str
    n_pupils: int | None  # pupils in the cohort with a score in any selected round
    means: list[RoundMean]  # one per (round, factor)
    comparisons: list[Comparison]  # baseline against each later round
    reliability: list[Reliability]  # one per (round, factor)
    protected: bool = False  # n_pupils counts pupils the viewer may not see one by one


@dataclass(frozen=True)
class CohortReport:
    selection_label: str  # the selection in words, e.g. "Years 7, 8 · FSM · Group A"
    selection_query: str  # the URL query string of the selection
    questionnaire_key: str
    questionnaire_version: str
    questionnaire_hash: str
    rounds: list[RoundInfo]
    factors: list[FactorInfo]
    bands: list[str]
    generated_at: datetime
    threshold: int  # suppression threshold (aggregates over fewer pupils are withheld)
    main: CohortResult
    # A split of the cohort (e.g. "Mentored" against "Not mentored"), or empty.
    subgroups: list[CohortResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # suppression and method notes
    # Some figures count pupils the viewer may not see one by one, and are adjusted
    # (privacy.disclosure); each such figure says so with its own `protected`.
    protected: bool = False
    timezone: str = "Europe/London"  # the school's zone, for the dates the report shows

    privacy_note = PRIVACY_NOTE  # said by every table and chart with a protected figure

    @property
    def suppression_note(self) -> str:
        return (
            f"Figures about fewer than {self.threshold} pupils are withheld, and where needed one more"
            " figure is withheld so that a hidden figure cannot be worked out from the totals. Withheld"
            " figures are marked \u201cc\u201d on the page and left blank in files."
        )
