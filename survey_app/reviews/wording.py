"""The words the reviews pages and PDFs share: target areas, outcomes, change since the
last round (staff only)."""

from __future__ import annotations

AREA_WORDS = {"attendance": "Attendance", "behaviour": "Behaviour", "homework": "Homework",
              "subject": "A subject", "factor": "An attitude (factor)"}
OUTCOME_WORDS = {"met": "Met", "partly": "Partly met", "not_yet": "Not yet", "replaced": "Replaced"}
VERDICT_MARKS = {"reliable rise": "\u25b2 reliable rise", "reliable fall": "\u25bc reliable fall",
                 "within measurement error": "within measurement error", "unknown": "reliability unknown"}


def change_words(c) -> str:
    """Return "52 to 61 (\u25b2 reliable rise)" for a FactorChange, or why there is none."""
    if c.after is None:
        return "not scored in the latest round"
    if c.before is None:
        return f"{c.after:.0f} (not scored last time)"
    verdict = VERDICT_MARKS.get(c.change.verdict, c.change.verdict) if c.change else "reliability unknown"
    return f"{c.before:.0f} to {c.after:.0f} ({verdict})"


VERSUS_WORDS = {"above": "above target", "on": "on target", "below": "below target"}


def result_words(s) -> str:
    """One subject's latest result in words: result, target, prediction, against target."""
    parts = [f"{s.subject} ({s.assessment}, {s.scale_name}): {s.result}"]
    if s.target:
        parts.append(f"target {s.target}")
    if s.prediction:
        parts.append(f"prediction {s.prediction}")
    if s.versus:
        parts.append(VERSUS_WORDS[s.versus])
    return "; ".join(parts)


def attendance_words(standing) -> str:
    """The latest attendance period in words, or that none was imported."""
    if standing is None or standing.attendance is None:
        return "No attendance imported."
    start, end = standing.attendance_period
    return f"Attendance {standing.attendance:.1f}% from {start.day} {start:%b %Y} to {end.day} {end:%b %Y}"
