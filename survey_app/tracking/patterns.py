"""Patterns that pick pupils out of the tracking list, each with its rule in words.

Pure code: a pupil's latest factor scores and reliable changes, their results against
target and their attendance in; the patterns that pick them out, each with the figures
that did, out. Thresholds are our defaults until a school or partnership chooses its own
(PatternThreshold); every page labels them as the school's choice, not a norm. Patterns
are for conversations with and about a pupil, not labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FRAGILE, ATTENDANCE, LOW_READINESS, ANOTHER_BARRIER, DECLINE = (
    "fragile_learner", "attendance_attitude", "below_target_low_readiness", "below_target_positive", "large_decline")


@dataclass(frozen=True)
class Pattern:
    key: str
    name: str
    rule: str  # in words, with {threshold} placeholders
    defaults: dict[str, float]
    labels: dict[str, str]

    def rule_text(self, thresholds: Mapping[str, float] | None = None) -> str:
        """Return the rule in words with `thresholds` (missing ones: our defaults)."""
        values = {**self.defaults, **(thresholds or {})}
        return self.rule.format(**{k: _num(v) for k, v in values.items()})


PATTERNS = (
    Pattern(FRAGILE, "Fragile learner",
            "At or above target in every subject that has a target, but self-regard as a learner or "
            "confidence in learning below {low}.",
            {"low": 50}, {"low": "A factor score below this is low (0 to 100)"}),
    Pattern(ATTENDANCE, "Attendance at risk",
            "Attitudes to attendance below {low} and attendance below {attendance}%.",
            {"low": 50, "attendance": 90},
            {"low": "A factor score below this is low (0 to 100)", "attendance": "Attendance below this % counts"}),
    Pattern(LOW_READINESS, "Below target, low readiness",
            "Below target in at least {subjects} subject(s), with preparedness for learning or general work "
            "ethic below {low}.",
            {"subjects": 1, "low": 50},
            {"subjects": "Subjects below target, at least", "low": "A factor score below this is low (0 to 100)"}),
    Pattern(ANOTHER_BARRIER, "Below target despite positive attitudes",
            "Below target in at least {subjects} subject(s) while every factor is at or above {positive}: "
            "look for another barrier.",
            {"subjects": 1, "positive": 60},
            {"subjects": "Subjects below target, at least", "positive": "A factor score at or above this is positive"}),
    Pattern(DECLINE, "Large decline",
            "A reliable fall of at least {points} points on any factor since the round before.",
            {"points": 10}, {"points": "Points of fall, at least (reliable falls only)"}),
)
BY_KEY = {p.key: p for p in PATTERNS}
NOTE = ("Patterns are for conversations with and about a pupil, not labels. The thresholds are the "
        "school's own choice (or our starting values), not national norms.")


@dataclass(frozen=True)
class Subject:
    """A pupil's latest result in one subject: its text, target text and where it stands."""

    name: str
    result: str
    target: str | None
    versus: str | None  # "above", "on", "below" or None without a target


@dataclass(frozen=True)
class Factor:
    key: str
    name: str
    score: float | None
    change: float | None = None
    reliable_fall: bool = False


@dataclass(frozen=True)
class Hit:
    key: str
    name: str
    reason: str


def _num(value: float) -> str:
    return f"{value:g}"


def _score(f: Factor) -> str:
    # Cut (not rounded) to one decimal, so 49.96 never reads as "50 (below 50)".
    return f"{f.name.lower()} {math.floor(f.score * 10) / 10:.1f}".removesuffix(".0")


def _subjects(items: list[Subject]) -> str:
    return ", ".join(f"{s.name} {s.result}" + (f" (target {s.target})" if s.target else "") for s in items)


def find_patterns(factors: Mapping[str, Factor], subjects: list[Subject], attendance: float | None,
                  thresholds: Mapping[str, Mapping[str, float]]) -> list[Hit]:
    """Return the patterns that pick this pupil out, each with the figures that did.

    `factors` are the latest round's scores ({key: Factor}); `thresholds` {pattern: {name:
    value}} (missing values take the defaults). A factor with no score never counts as low
    or as positive; a subject without a target is neither on nor off target.
    """
    hits = []

    def t(pattern: str, name: str) -> float:
        chosen = thresholds.get(pattern)
        if chosen and name in chosen:
            return float(chosen[name])
        return BY_KEY[pattern].defaults[name]

    def low(keys: tuple[str, ...], limit: float) -> list[Factor]:
        return [factors[k] for k in keys if k in factors and factors[k].score is not None
                and factors[k].score < limit]

    targeted = [s for s in subjects if s.versus is not None]
    below = [s for s in targeted if s.versus == "below"]
    scored = [f for f in factors.values() if f.score is not None]

    weak = low(("self_regard", "confidence_in_learning"), t(FRAGILE, "low"))
    if targeted and not below and weak:
        hits.append(Hit(FRAGILE, BY_KEY[FRAGILE].name,
                        f"at or above target in {_subjects(targeted)}; "
                        + " and ".join(_score(f) for f in weak) + f" (below {_num(t(FRAGILE, 'low'))})"))
    weak = low(("attitudes_to_attendance",), t(ATTENDANCE, "low"))
    if weak and attendance is not None and attendance < t(ATTENDANCE, "attendance"):
        hits.append(Hit(ATTENDANCE, BY_KEY[ATTENDANCE].name,
                        f"{_score(weak[0])} (below {_num(t(ATTENDANCE, 'low'))}); attendance {attendance:g}% "
                        f"(below {_num(t(ATTENDANCE, 'attendance'))}%)"))
    weak = low(("preparedness_for_learning", "general_work_ethic"), t(LOW_READINESS, "low"))
    if below and len(below) >= t(LOW_READINESS, "subjects") and weak:
        hits.append(Hit(LOW_READINESS, BY_KEY[LOW_READINESS].name,
                        f"below target in {_subjects(below)}; " + " and ".join(_score(f) for f in weak)
                        + f" (below {_num(t(LOW_READINESS, 'low'))})"))
    positive = t(ANOTHER_BARRIER, "positive")
    if (below and len(below) >= t(ANOTHER_BARRIER, "subjects") and scored and len(scored) == len(factors)
            and all(f.score >= positive for f in scored)):
        lowest = min(scored, key=lambda f: f.score)
        hits.append(Hit(ANOTHER_BARRIER, BY_KEY[ANOTHER_BARRIER].name,
                        f"below target in {_subjects(below)}; every factor at or above {_num(positive)} "
                        f"(lowest: {_score(lowest)})"))
    points = t(DECLINE, "points")
    falls = [f for f in factors.values() if f.reliable_fall and f.change is not None and -f.change >= points]
    if falls:
        hits.append(Hit(DECLINE, BY_KEY[DECLINE].name,
                        "reliable fall on " + ", ".join(f"{f.name.lower()} ({f.change:+.0f})" for f in falls)
                        + f" (at least {_num(points)} points)"))
    return hits
