"""Data-quality checks on one response: straight-lining, too fast, contradictory pairs.

A flagged response is still shown (labelled), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..questionnaires import Questionnaire
from .factors import rescale

# Straight-lining needs enough answers to mean something.
MIN_ANSWERS_FOR_STRAIGHT_LINE = 10
# Contradictions: two pairs, or every pair when the instrument has fewer.
MIN_CONTRADICTIONS = 2


@dataclass(frozen=True)
class QualityFlag:
    kind: str  # 'straight-lining', 'too fast', 'contradictory'
    reason: str


def quality_flags(
    q: Questionnaire, answers: Mapping[str, int], seconds_spent: float | None
) -> list[QualityFlag]:
    """Return the data-quality flags of a response, each with a reason in plain words."""
    flags = []
    labels = {o.value: o.label for o in q.scale}
    values = list(answers.values())
    if len(values) >= MIN_ANSWERS_FOR_STRAIGHT_LINE and len(set(values)) == 1:
        flags.append(QualityFlag(
            "straight-lining",
            f"Gave the same answer (\u201c{labels.get(values[0], values[0])}\u201d) to all "
            f"{len(values)} statements answered.",
        ))
    if seconds_spent is not None and values:
        per_statement = seconds_spent / len(values)
        if per_statement < q.min_seconds_per_statement:
            flags.append(QualityFlag(
                "too fast",
                f"Answered {len(values)} statements in {seconds_spent:.0f} seconds "
                f"({per_statement:.1f} s each; the questionnaire expects at least "
                f"{q.min_seconds_per_statement:g} s).",
            ))
    pairs = [(s, s.pair) for s in q.statements if s.pair]
    texts = {s.id: s for s in q.statements}
    contradictions = []
    lo, hi = q.scale_min, q.scale_max
    for reversed_statement, twin_id in pairs:
        a, b = answers.get(twin_id), answers.get(reversed_statement.id)
        if a is None or b is None:
            continue
        # After reverse-scoring the two should agree; opposite ends of the scale contradict.
        if abs(rescale(a, False, lo, hi) - rescale(b, True, lo, hi)) >= 100:
            contradictions.append(
                f"\u201c{labels[a]}\u201d to \u201c{texts[twin_id].text}\u201d but "
                f"\u201c{labels[b]}\u201d to \u201c{reversed_statement.text}\u201d"
            )
    needed = min(MIN_CONTRADICTIONS, len(pairs)) if pairs else 1
    if pairs and len(contradictions) >= needed:
        flags.append(QualityFlag(
            "contradictory",
            f"Contradictory answers to {len(contradictions)} pair(s) of opposite statements: "
            + "; ".join(contradictions) + ".",
        ))
    return flags
