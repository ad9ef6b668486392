"""Charts of one pupil's learning profile."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go

from .text import esc

BAND_FILLS = ["#f4c7c3", "#fbe3c0", "#fff3bf", "#d5ecd4", "#cfe2f3", "#e6d7f0"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star"]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
FONT = dict(family="Verdana, DejaVu Sans, Arial, sans-serif", size=13, color="#1b1f24")
# Dark, distinct colours that print apart in grey too; no Plotly template (it is large
# and slow to apply, and we set every style we need ourselves).
COLORWAY = ["#1d4e89", "#b03a2e", "#1e6b35", "#8a4b00", "#6a3d9a", "#0b7285", "#4a5360", "#946200", "#a61e4d"]
BASE_LAYOUT = dict(template="none", colorway=COLORWAY, font=FONT, paper_bgcolor="#ffffff",
                   plot_bgcolor="#ffffff", hoverlabel=dict(font=dict(size=13)))


def profile_figure(
    factors: list[dict], bands: list[dict], series: list[dict], title: str = ""
) -> go.Figure:
    """Return the nine-factor chart: one series per round, band regions behind.

    factors: [{"key", "name", "cutoffs": [..]}]; bands: [{"key", "label"}], lowest first;
    series: [{"label", "scores": [score or None per factor]}] in round order.
    """
    names = [esc(f["name"]) for f in factors]
    # Shapes and annotations go in with the layout at once: adding them one by one
    # re-validates the whole figure each time and is a hundred times slower.
    shapes = []
    for i, factor in enumerate(factors):
        edges = [0.0, *factor["cutoffs"], 100.0]
        for b in range(len(bands)):
            shapes.append(dict(
                type="rect", xref="x", yref="y", x0=i - 0.5, x1=i + 0.5, y0=edges[b], y1=edges[b + 1],
                fillcolor=BAND_FILLS[b % len(BAND_FILLS)], line=dict(width=0), layer="below",
            ))
    annotations = []
    last = factors[-1]["cutoffs"] if factors else []
    edges = [0.0, *last, 100.0]
    for b, band in enumerate(bands):
        annotations.append(dict(
            x=len(factors) - 0.45, y=(edges[b] + edges[b + 1]) / 2, xref="x", yref="y",
            text=esc(band["label"]), showarrow=False, xanchor="left", font=dict(size=11, color="#4a5360"),
        ))
    traces = [
        dict(
            type="scatter", x=names, y=item["scores"], name=esc(item["label"]), mode="lines+markers",
            connectgaps=False,
            marker=dict(symbol=SYMBOLS[s % len(SYMBOLS)], size=11, line=dict(width=1, color="#1b1f24")),
            line=dict(dash=DASHES[s % len(DASHES)], width=2.5),
            hovertemplate="%{x}<br>%{y:.0f}<extra>" + esc(item["label"]) + "</extra>",
        )
        for s, item in enumerate(series)
    ]
    layout = dict(
        BASE_LAYOUT,
        title=dict(text=esc(title), x=0.01) if title else None,
        margin=dict(l=50, r=90, t=50 if title else 20, b=120),
        yaxis=dict(range=[0, 100], title="Score (0\u2013100)", dtick=20, gridcolor="#d0d6de"),
        xaxis=dict(tickangle=-30, range=[-0.5, len(factors) + 0.1], automargin=True),
        legend=dict(orientation="h", y=1.08, x=0),
        height=480, shapes=shapes, annotations=annotations,
    )
    return go.Figure(data=traces, layout=layout)


def timeline_figure(
    lines: list[dict], support: list[dict], title: str = ""
) -> go.Figure:
    """Return factor scores over time with support entries marked on the time axis.

    lines: [{"name", "dates": [date], "scores": [float or None]}];
    support: [{"label", "start": date, "end": date or None, "kind"}].
    """
    traces = [
        dict(
            type="scatter", x=[d.isoformat() for d in line["dates"]], y=line["scores"], name=esc(line["name"]),
            mode="lines+markers", marker=dict(symbol=SYMBOLS[i % len(SYMBOLS)], size=8),
            line=dict(dash=DASHES[i % len(DASHES)]),
        )
        for i, line in enumerate(lines)
    ]
    shapes, annotations = [], []
    for entry in support:
        start: date = entry["start"]
        end: date | None = entry.get("end")
        if end and end > start:
            shapes.append(dict(type="rect", xref="x", yref="paper", x0=start.isoformat(), x1=end.isoformat(),
                               y0=0, y1=1, fillcolor="#9fb8d8", opacity=0.25, line=dict(width=0), layer="below"))
        shapes.append(dict(type="line", xref="x", yref="paper", x0=start.isoformat(), x1=start.isoformat(),
                           y0=0, y1=1, line=dict(color="#1d4e89", width=1.5, dash="dot")))
        annotations.append(dict(x=start.isoformat(), y=1.02, xref="x", yref="paper", text=esc(entry["label"][:30]),
                                showarrow=False, textangle=-30, xanchor="left", font=dict(size=10)))
    days = [d for line in lines for d in line["dates"]] + [e["start"] for e in support]
    days += [e["end"] for e in support if e.get("end")]
    xaxis = dict(type="date", title="Date")
    if days:
        # Pad the axis so rounds a few days apart (or on one day) still read as dates.
        pad = max(timedelta(days=14), (max(days) - min(days)) / 10)
        xaxis["range"] = [(min(days) - pad).isoformat(), (max(days) + pad).isoformat()]
    layout = dict(
        BASE_LAYOUT,
        title=dict(text=esc(title), x=0.01) if title else None,
        yaxis=dict(range=[0, 100], title="Score (0\u2013100)", gridcolor="#d0d6de"),
        xaxis=xaxis, margin=dict(l=50, r=20, t=70, b=50),
        legend=dict(orientation="v"), height=420, shapes=shapes, annotations=annotations,
    )
    return go.Figure(data=traces, layout=layout)
