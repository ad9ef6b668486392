"""Individual change: the Jacobson-Truax reliable change index (RCI).

RCI = (x2 - x1) / S_diff, where S_diff = sqrt(2) * SE and SE = SD_baseline * sqrt(1 - r),
r being the factor's reliability (Cronbach's alpha). |RCI| > 1.96 is a change larger
than measurement error at the 95% level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RELIABLE = 1.96


@dataclass(frozen=True)
class ReliableChange:
    change: float
    rci: float | None
    verdict: str  # 'reliable rise', 'reliable fall', 'within measurement error', 'unknown'

    @property
    def is_reliable(self) -> bool:
        return self.verdict in ("reliable rise", "reliable fall")


def standard_error_of_difference(sd_baseline: float, reliability: float) -> float | None:
    """Return S_diff, or None when the inputs cannot give one (sd <= 0, r outside [0, 1))."""
    if sd_baseline is None or reliability is None:
        return None
    if sd_baseline <= 0 or not 0 <= reliability < 1:
        return None
    return math.sqrt(2) * sd_baseline * math.sqrt(1 - reliability)


def reliable_change(before: float, after: float, sd_baseline: float, reliability: float) -> ReliableChange:
    """Return the change, its RCI and the verdict ('unknown' when S_diff cannot be had)."""
    change = after - before
    s_diff = standard_error_of_difference(sd_baseline, reliability)
    if s_diff is None:
        return ReliableChange(change, None, "unknown")
    rci = change / s_diff
    if rci > RELIABLE:
        verdict = "reliable rise"
    elif rci < -RELIABLE:
        verdict = "reliable fall"
    else:
        verdict = "within measurement error"
    return ReliableChange(change, rci, verdict)
