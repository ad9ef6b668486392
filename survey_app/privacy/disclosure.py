"""Disclosure control of aggregates: the one step protected figures pass through.

A figure is protected when it counts at least one pupil the viewer may not see one by
one. What a figure needs to know about those pupils is a `Protection`: how many there
are, and their cell key (the sum of their own cell keys, keys.py). The
database sums both alongside every aggregate.

- **Scores** carry each protected pupil's fixed offset (keys.score_offset) into the sums
  the database adds up, so means, SDs, changes, intervals, tests, band movement and the
  distribution of change are all worked out from adjusted scores. Whatever figures are
  combined, the most they can tell about one pupil is that pupil's adjusted score.
- **Counts** of protected sets get noise from a fixed perturbation table looked up by the
  cell key (COUNT_PTABLE): the same set of pupils gets the same count everywhere, and a
  set that differs by one pupil gets unrelated noise. A count shown is never below the
  suppression threshold (smaller counts stay withheld).
- **A round's statistics behind reliable change** (its SD and alpha over every pupil of
  the round, shown to staff who may not see them all) get noise scaled to how much one
  pupil could move them, drawn from the cell key (statistic_noise). The round's pupils are
  not a selection anyone chooses, so that noise cannot be averaged over selections.
- Protected figures are rounded to what is shown (DIGITS), so no file, chart or JSON
  carries more precision than the page.

Pure code: numbers in, numbers out.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from .keys import CELL_KEY_MODULUS

PRIVACY_NOTE = "Small adjustments protect pupils\u2019 privacy, so totals may not add up exactly."


@dataclass(frozen=True, slots=True)
class Protection:
    """The pupils of one figure whom the viewer may not see one by one: how many, and the
    sum of their cell keys modulo 2**32 (the figure's cell key)."""

    count: int = 0
    key: int = 0

    @property
    def protected(self) -> bool:
        return self.count > 0

    def __bool__(self) -> bool:
        return self.count > 0

    def __add__(self, other: Protection) -> Protection:
        return Protection(self.count + other.count, (self.key + other.key) % CELL_KEY_MODULUS)

    def __sub__(self, other: Protection) -> Protection:
        """The pupils of this figure that are not in `other` (which must be a part of it)."""
        return Protection(self.count - other.count, (self.key - other.key) % CELL_KEY_MODULUS)


NONE = Protection()


def total(parts: Sequence[Protection]) -> Protection:
    """Return the protection of the union of disjoint parts."""
    out = NONE
    for p in parts:
        out = out + p
    return out


# ----- counts: a fixed perturbation table, looked up by the cell key ---------------------

# (noise, probability): the perturbation table for counts. Mean 0, variance 0.8; a cell key
# is spread evenly over 0..2**32-1, so its position in [0, 1) picks the noise.
COUNT_PTABLE: tuple[tuple[int, float], ...] = ((-2, 0.05), (-1, 0.20), (0, 0.50), (1, 0.20), (2, 0.05))


def count_noise(cell_key: int) -> int:
    """Return the noise the perturbation table gives a count with this cell key."""
    position = (cell_key % CELL_KEY_MODULUS) / CELL_KEY_MODULUS
    running = 0.0
    for noise, probability in COUNT_PTABLE:
        running += probability
        if position < running:
            return noise
    return COUNT_PTABLE[-1][0]


def protect_count(n: int | None, protection: Protection, threshold: int) -> int | None:
    """Return a count as shown: exact when unprotected; None (withheld) stays None; zero
    stays zero; otherwise the count plus its cell key's noise, never below the threshold."""
    if n is None or n == 0 or not protection.protected:
        return n
    return max(threshold, n + count_noise(protection.key))


# ----- statistics from answers: noise scaled to one pupil's influence ---------------------

def statistic_noise(cell_key: int, label: str) -> float:
    """Return a number in [-1, 1), fixed by the cell key and what is measured (`label`)."""
    digest = hashlib.sha256(f"{cell_key % CELL_KEY_MODULUS}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def protect_statistic(value: float | None, sensitivity: float, protection: Protection, label: str,
                      low: float | None = None, high: float | None = None) -> float | None:
    """Return `value` moved by up to `sensitivity` (how far one pupil could move it), by the
    figure's cell key, and kept within [low, high]; exact when unprotected."""
    if value is None or not protection.protected:
        return value
    moved = value + sensitivity * statistic_noise(protection.key, label)
    if low is not None:
        moved = max(low, moved)
    if high is not None:
        moved = min(high, moved)
    return moved


def sd_sensitivity(n: int, mean: float, sd: float, low: float = 0.0, high: float = 100.0) -> float:
    """Return how much one more pupil (at either end of the scale) could move an SD of n scores."""
    if n < 2:
        return high - low
    ss = sd * sd * (n - 1)
    worst = 0.0
    for x in (low, high):
        new_mean = (n * mean + x) / (n + 1)
        new_sd = math.sqrt(max(0.0, (ss + (x - mean) * (x - new_mean)) / n))
        worst = max(worst, abs(new_sd - sd))
    return worst


# ----- rounding to what is shown --------------------------------------------------------

# Decimals a protected figure keeps, by kind (what the page shows).
DIGITS = {"score": 1, "t": 2, "p": 3, "effect": 2, "alpha": 2, "rank": 0}


def shown(value: float | None, kind: str, protected: Protection | bool) -> float | None:
    """Return a figure rounded to what the page shows when it is protected, else as it is."""
    if value is None or not protected:
        return value
    return round(float(value), DIGITS[kind])
