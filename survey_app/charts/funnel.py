"""The authority's funnel plot: each school's mean against its number of pupils, inside
control limits around the authority's mean (95% and 99.8%). Plain data in, a Plotly
figure out; school names are escaped (Plotly reads a few HTML tags in labels)."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from .cohort_layout import GRID, MUTED
from .profile import BASE_LAYOUT
from .text import esc

LIMIT_STYLE = {0.95: dict(color="#1d4e89", dash="dash", width=1.5), 0.998: dict(color="#b03a2e", dash="dot", width=1.5)}
POINT_COLOURS = {"": "#4a5360", "above-95": "#1d4e89", "below-95": "#1d4e89", "above": "#b03a2e", "below": "#b03a2e"}


def funnel_figure(title: str, centre: float, points: Sequence[tuple[str, int, float, str]],
                  curves: dict[float, Sequence[tuple[int, float, float]]], note: str = "") -> go.Figure:
    """Return the funnel plot: `points` are (school, n, mean, flag), `curves` the limits per
    level as (n, lower, upper); `note` goes under the chart (the privacy note)."""
    fig = go.Figure()
    n_max = max([n for n, _lo, _hi in next(iter(curves.values()), [])] + [10])
    fig.add_trace(go.Scatter(x=[0, n_max], y=[centre, centre], mode="lines", name=f"Authority mean {centre:.1f}",
                             line=dict(color=MUTED, width=1.5), hoverinfo="skip"))
    for level, curve in sorted(curves.items()):
        style = LIMIT_STYLE.get(level, dict(color=MUTED))
        label = f"{level * 100:g}% limits"
        xs = [n for n, _lo, _hi in curve]
        fig.add_trace(go.Scatter(x=xs, y=[hi for _n, _lo, hi in curve], mode="lines", name=label,
                                 line=style, legendgroup=label, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=xs, y=[lo for _n, lo, _hi in curve], mode="lines", name=label,
                                 line=style, legendgroup=label, showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=[n for _s, n, _m, _f in points], y=[m for _s, _n, m, _f in points], mode="markers", name="Schools",
        marker=dict(size=10, color=[POINT_COLOURS.get(f, MUTED) for _s, _n, _m, f in points],
                    line=dict(color="white", width=1)),
        text=[esc(s) for s, _n, _m, _f in points],
        hovertemplate="%{text}<br>%{x} pupils, mean %{y:.1f}<extra></extra>"))
    annotations = []
    if note:
        annotations.append(dict(text=esc(note), xref="paper", yref="paper", x=0, y=0, yanchor="top", yshift=-62,
                                xanchor="left",
                                showarrow=False, font=dict(size=11, color=MUTED)))
    fig.update_layout(BASE_LAYOUT, title=dict(text=f"<b>{esc(title)}</b>", x=0.01, xanchor="left"),
                      height=460, margin=dict(l=70, r=30, t=70, b=110), annotations=annotations,
                      legend=dict(orientation="h", x=0, y=1.08),
                      xaxis=dict(title="Pupils (as shown)", rangemode="tozero", gridcolor=GRID),
                      yaxis=dict(title="Mean score (0 to 100)", gridcolor=GRID))
    return fig
