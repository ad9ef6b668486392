"""The attainment scales schools use, and where a result sits on its scale.

Pure code. Each result is stored with its scale and its place on it (`value`), so that a
result is compared with a target only within one scale, never across scales: a GCSE 6
says nothing about a reading age, and a working-at band nothing about a percentage.
Scale names are matched loosely (case, spaces and dashes ignored: "GCSE 9-1" is GCSE 9–1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GCSE, WORKING_AT, PRE_KEY_STAGE, P_LEVELS = "gcse", "working_at", "pre_key_stage", "p_levels"
STANDARDISED, READING_AGE, PERCENTAGE = "standardised", "reading_age", "percentage"

SCALE_NAMES = {
    GCSE: "GCSE 9\u20131",
    WORKING_AT: "Working at (WTS/EXS/GDS)",
    PRE_KEY_STAGE: "Pre-key-stage standards",
    P_LEVELS: "P-levels",
    STANDARDISED: "Standardised score",
    READING_AGE: "Reading age",
    PERCENTAGE: "Percentage",
}
_ALIASES = {
    GCSE: ("gcse91", "gcse", "gcse9to1", "gcsegrade", "gcsegrades", "91"),
    WORKING_AT: ("workingat", "wtsexsgds", "workingatbands", "teacherassessment", "ta"),
    PRE_KEY_STAGE: ("prekeystage", "prekeystagestandards", "pks", "prekeystagestandard", "pk"),
    P_LEVELS: ("plevels", "plevel", "pscales", "pscale"),
    STANDARDISED: ("standardised", "standardisedscore", "standardized", "standardizedscore", "ss", "sas"),
    READING_AGE: ("readingage", "ra", "readingages"),
    PERCENTAGE: ("percentage", "percent", "", "pc", "percentages"),
}
_SCALE_OF = {alias: key for key, aliases in _ALIASES.items() for alias in aliases if alias}
_SCALE_OF["%"] = PERCENTAGE

_WORKING_AT = {"wts": 1.0, "workingtowards": 1.0, "exs": 2.0, "expected": 2.0, "gds": 3.0, "greaterdepth": 3.0}
_PK = re.compile(r"^(?:pk|standard|pks)([1-6])$")
_P_LEVEL = re.compile(r"^p([1-8])(i{1,2})?$")
_READING_AGE = re.compile(r"^(\d{1,2})(?:y|yrs?|years?)?(?:[:.](\d{1,2})|(\d{1,2})(?:m|mths?|months?))?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
STANDARDISED_RANGE = (40.0, 160.0)


def fold(text: str) -> str:
    """Return `text` lower case without spaces, hyphens, en and em dashes or underscores."""
    return re.sub(r"[\s\-\u2010-\u2015_]+", "", text.strip().lower())


def scale_key(name: str) -> str | None:
    """Return the scale a name means ("GCSE 9-1", "gcse 9–1" → "gcse"), or None."""
    return _SCALE_OF.get(fold(name))


@dataclass(frozen=True)
class Placed:
    """A value on a scale: the text as stored and its place on the scale."""

    text: str
    value: float


def place(scale: str, raw: str) -> Placed | None:
    """Return where `raw` sits on `scale` (None when it is not a value of that scale)."""
    key = fold(raw)
    if not key:
        return None
    if scale == GCSE:
        if key == "u":
            return Placed("U", 0.0)
        return Placed(key, float(key)) if key in {str(n) for n in range(1, 10)} else None
    if scale == WORKING_AT:
        value = _WORKING_AT.get(key)
        return Placed({1.0: "WTS", 2.0: "EXS", 3.0: "GDS"}[value], value) if value else None
    if scale == PRE_KEY_STAGE:
        match = _PK.match(key)
        return Placed(f"PK{match.group(1)}", float(match.group(1))) if match else None
    if scale == P_LEVELS:
        match = _P_LEVEL.match(key)
        if not match or (match.group(2) and int(match.group(1)) > 3):
            return None  # only P1 to P3 are split into i and ii
        level = float(match.group(1)) + (0.5 if match.group(2) == "ii" else 0.0)
        return Placed(f"P{match.group(1)}{match.group(2) or ''}", level)
    if scale == STANDARDISED:
        if not _NUMBER.match(key):
            return None
        value = float(key)
        low, high = STANDARDISED_RANGE
        return Placed(key, value) if low <= value <= high else None
    if scale == READING_AGE:
        match = _READING_AGE.match(key)
        if not match:
            return None
        years, months = int(match.group(1)), int(match.group(2) or match.group(3) or 0)
        if not (3 <= years <= 18 and months < 12):
            return None
        return Placed(f"{years}y {months}m", years * 12.0 + months)
    if scale == PERCENTAGE:
        key = key.removesuffix("%")
        if not _NUMBER.match(key) or float(key) > 100:
            return None
        return Placed(f"{key}%", float(key))
    return None


def guess_scale(raw: str) -> str | None:
    """Return the one scale a result without a Scale column can only belong to, or None.

    A bare number is ambiguous (a percentage, a standardised score, a GCSE grade), except
    1 to 9 and U, which are read as GCSE grades.
    """
    key = fold(raw)
    if key in _WORKING_AT:
        return WORKING_AT
    if _PK.match(key):
        return PRE_KEY_STAGE
    if _P_LEVEL.match(key):
        return P_LEVELS
    if key.endswith("%"):
        return PERCENTAGE
    if key == "u" or key in {str(n) for n in range(1, 10)}:
        return GCSE
    if re.search(r"\d[ym:]", key) and _READING_AGE.match(key):
        return READING_AGE
    return None


def expected_values(scale: str) -> str:
    """Return, in words, the values `scale` takes (for row errors)."""
    return {
        GCSE: "a grade 9 to 1 or U",
        WORKING_AT: "WTS, EXS or GDS",
        PRE_KEY_STAGE: "PK1 to PK6",
        P_LEVELS: "P1i, P1ii, P2i, P2ii, P3i, P3ii or P4 to P8",
        STANDARDISED: f"a score from {STANDARDISED_RANGE[0]:.0f} to {STANDARDISED_RANGE[1]:.0f}",
        READING_AGE: "years and months such as 9:06 or 9y 6m",
        PERCENTAGE: "a percentage from 0 to 100",
    }[scale]


def against_target(result_value: float | None, target_value: float | None) -> str | None:
    """Return "above", "on" or "below" target (both on one scale), or None without a target."""
    if result_value is None or target_value is None:
        return None
    if result_value > target_value:
        return "above"
    return "on" if result_value == target_value else "below"
