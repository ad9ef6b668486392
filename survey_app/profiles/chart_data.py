"""Plain chart data from a learning profile (kept apart so charts stay pure)."""

from __future__ import annotations

from .queries import LearningProfile


def round_label(result) -> str:
    when = result.response.finished_at or result.round.opens_at
    return f"{result.round.name} ({when:%b %Y})"


def profile_chart_data(profile: LearningProfile) -> dict:
    """Return the arguments of charts.profile.profile_figure for this profile."""
    q = profile.questionnaire
    factors = [{"key": f.key, "name": f.name, "cutoffs": list(f.cutoffs)} for f in q.factors]
    bands = [{"key": b.key, "label": b.label} for b in q.bands]
    series = []
    for index, result in enumerate(profile.rounds):
        if not result.finished:
            continue
        scores = [row.cells[index].score for row in profile.factors]
        series.append({"label": round_label(result), "scores": scores})
    return {"factors": factors, "bands": bands, "series": series}


def timeline_chart_data(profile: LearningProfile) -> dict:
    """Return the arguments of charts.profile.timeline_figure for this profile."""
    finished = [(i, r) for i, r in enumerate(profile.rounds) if r.finished]
    lines = []
    for row in profile.factors:
        lines.append({
            "name": row.factor.name,
            "dates": [r.response.finished_at.date() for _, r in finished],
            "scores": [row.cells[i].score for i, _ in finished],
        })
    support = [
        {"label": (e.intervention_type or "Note") if e.kind == "intervention" else "Note: " + e.text[:20],
         "start": e.starts_on, "end": e.ends_on, "kind": e.kind}
        for e in profile.support
    ]
    return {"lines": lines, "support": support}
