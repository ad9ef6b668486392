"""Charts of a cohort change report: plain `CohortReport` in, Plotly figures out (the
change on each factor, the means per round, the sub-groups; the charts of counts are in
cohort_counts.py, what they all share in cohort_layout.py).

Every figure carries its own title and a footer naming the selection, the rounds, the
questionnaire version, the date and the suppression rule, so an exported image still
says what it shows when it is pasted into a governors' paper. Withheld numbers (None in
the report) are written as "withheld", never drawn as zero.

User text (selection, round, group and factor names) is escaped for Plotly, which reads
a few HTML tags in labels.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence

import plotly.graph_objects as go

from ..scoring.cohort_report import CohortReport, Comparison, FactorChange
from .cohort_counts import band_movement_figure, change_distribution_figure
from .cohort_layout import (
    GRID,
    MUTED,
    chart_layout,
    comparison_label,
    fmt_change,
    text_px,
    withheld_text,
)
from .profile import COLORWAY, SYMBOLS
from .text import esc

# ---- change on each factor (forest plot), for the whole cohort or two sub-groups ----

def _offsets(count: int) -> list[float]:
    """Vertical offsets of `count` series inside one factor row (row height 1)."""
    if count <= 1:
        return [0.0]
    step = min(0.3, 0.72 / (count - 1))
    return [(i - (count - 1) / 2) * step for i in range(count)]


def _change_hover(label: str, factor: str, c: FactorChange) -> str:
    lines = [f"<b>{esc(factor)}</b>", esc(label),
             f"Change {fmt_change(c.mean_change)} (95% CI {fmt_change(c.ci_low)} to {fmt_change(c.ci_high)})",
             f"Pupils in both rounds: {c.n_paired if c.n_paired is not None else 'withheld'}"]
    if c.dz is not None:
        lines.append(f"Effect size d<sub>z</sub> {c.dz:.2f}")
    if c.p_holm is not None:
        lines.append(f"Holm-adjusted p {c.p_holm:.3f}")
    return "<br>".join(lines)


def _forest(report: CohortReport, series: Sequence[tuple[str, Comparison, int, int]], title: str,
            subtitle: str) -> go.Figure:
    """Return a forest plot: one row per factor, one point with its 95% CI per series.

    series: (label, comparison, colour index, symbol index).
    """
    names = [f.name for f in report.factors]
    offsets = _offsets(len(series))
    reach = 10.0
    for _label, comparison, _colour, _symbol in series:
        for c in comparison.factors:
            for value in (c.ci_low, c.ci_high, c.mean_change):
                if value is not None and math.isfinite(value):
                    reach = max(reach, abs(value))
    reach = math.ceil(reach * 1.15 / 5) * 5
    traces, annotations = [], []
    for s, (label, comparison, colour_index, symbol) in enumerate(series):
        xs, ys, plus, minus, hover = [], [], [], [], []
        colour = COLORWAY[colour_index % len(COLORWAY)]
        for i, info in enumerate(report.factors):
            y = i + offsets[s]
            c = comparison.factor(info.key)
            prefix = f"{esc(label)}: " if len(series) > 1 else ""
            if c.suppressed or c.mean_change is None:
                why = withheld_text(report) if c.suppressed else "no pupils answered in both rounds"
                annotations.append(dict(x=-reach, y=y, xref="x", yref="y", xanchor="left", showarrow=False,
                                        text=f"<i>{prefix}{why}</i>", font=dict(size=11, color=MUTED)))
                annotations.append(dict(x=1.01, y=y, xref="paper", yref="y", xanchor="left", showarrow=False,
                                        text="withheld", font=dict(size=11, color=MUTED)))
                continue
            xs.append(c.mean_change)
            ys.append(y)
            plus.append(c.ci_high - c.mean_change if c.ci_high is not None else 0)
            minus.append(c.mean_change - c.ci_low if c.ci_low is not None else 0)
            hover.append(_change_hover(label, info.name, c))
            number = f"{fmt_change(c.mean_change)} ({fmt_change(c.ci_low)} to {fmt_change(c.ci_high)})"
            clear = c.p_holm is not None and c.p_holm < 0.05
            annotations.append(dict(x=1.01, y=y, xref="paper", yref="y", xanchor="left", showarrow=False,
                                    text=f"<b>{number}</b>" if clear else number,
                                    font=dict(size=11, color=colour)))
        traces.append(dict(
            type="scatter", x=xs, y=ys, mode="markers", name=esc(label), hovertext=hover, hoverinfo="text",
            marker=dict(symbol=SYMBOLS[symbol % len(SYMBOLS)], size=11, color=colour,
                        line=dict(width=1, color="#1b1f24")),
            error_x=dict(type="data", symmetric=False, array=plus, arrayminus=minus, color=colour,
                         thickness=2.2, width=6),
        ))
    rows = len(names)
    annotations += [
        dict(x=1.01, y=-0.6, xref="paper", yref="y", xanchor="left", yanchor="bottom", showarrow=False,
             text="<b>Change (95% CI)</b>", font=dict(size=11)),
        dict(x=-reach, y=-0.6, xref="x", yref="y", xanchor="left", yanchor="bottom", showarrow=False,
             text="\u25c0 lower after", font=dict(size=11, color=MUTED)),
        dict(x=reach, y=-0.6, xref="x", yref="y", xanchor="right", yanchor="bottom", showarrow=False,
             text="higher after \u25b6", font=dict(size=11, color=MUTED)),
    ]
    shapes = [dict(type="line", xref="x", yref="y", x0=0, x1=0, y0=-0.7, y1=rows - 0.5,
                   line=dict(color="#1b1f24", width=1.5))]
    shapes += [dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=i + 0.5, y1=i + 0.5,
                    line=dict(color=GRID, width=1)) for i in range(rows - 1)]
    row_px = max(34, 16 * len(series) + 14)
    left = text_px(max(names, key=len)) + 16 if names else 40
    layout = chart_layout(
        report, title, subtitle, plot_px=row_px * rows + 30, axis_px=64, left_px=left, header_px=6,
        legend=[label for label, *_ in series] if len(series) > 1 else (),
        annotations=annotations, shapes=shapes, margin=dict(r=175),
        xaxis=dict(range=[-reach, reach], title=dict(text="Change in mean score (points on the 0\u2013100 scale)"),
                   gridcolor=GRID, zeroline=False, ticks="outside"),
        yaxis=dict(tickvals=list(range(rows)), ticktext=[esc(n) for n in names], range=[rows - 0.5, -0.7],
                   showgrid=False, zeroline=False, automargin=True, ticklabelstandoff=8),
    )
    return go.Figure(data=traces, layout=layout)


def forest_figure(report: CohortReport) -> go.Figure:
    """Return the mean change with its 95% CI on each factor, one series per later round.

    Withheld factors are listed with the reason instead of a point.
    """
    # Each later round keeps the colour it has in the chart of means.
    colour = {r.id: i for i, r in enumerate(report.rounds)}
    series = [(comparison_label(c), c, colour.get(c.later.id, i + 1), i) for i, c in enumerate(report.main.comparisons)]
    subtitle = ("Pupils in both rounds. Point: mean change; line: 95% confidence interval. "
                "Bold numbers: a clear change after allowing for nine factors (Holm).")
    return _forest(report, series, "Change on each factor", subtitle)


def subgroup_figure(report: CohortReport, comparison: int | None = None) -> go.Figure:
    """Return the two sub-groups' mean changes with CIs side by side on each factor.

    All comparisons when `comparison` is None. Refuses (ValueError) a report without sub-groups.
    """
    if len(report.subgroups) < 2:
        raise ValueError("This report has no sub-groups to compare.")
    chosen = range(len(report.main.comparisons)) if comparison is None else [comparison]
    series = []
    # Colour tells the groups apart, the marker the rounds.
    for index in chosen:
        for g, group in enumerate(report.subgroups):
            if index < len(group.comparisons):
                label = group.label
                if len(chosen) > 1:
                    label += f" ({comparison_label(group.comparisons[index])})"
                series.append((label, group.comparisons[index], g, index))
    names = " and ".join(g.label for g in report.subgroups)
    subtitle = f"{names}: mean change and 95% CI on each factor, pupils in both rounds."
    return _forest(report, series, "Sub-groups compared", subtitle)


# ---- mean score per round ----

def mean_profile_figure(report: CohortReport) -> go.Figure:
    """Return the cohort's mean score (0–100) on each factor in each round, as grouped bars."""
    names = [esc(f.name) for f in report.factors]
    lookup = {(m.round_id, m.factor): m for m in report.main.means}
    traces = []
    for r, rnd in enumerate(report.rounds):
        xs, texts, hover = [], [], []
        for info in report.factors:
            m = lookup.get((rnd.id, info.key))
            if m is None or m.mean is None:
                xs.append(0)
                texts.append("withheld" if m is not None else "no scores")
                hover.append(f"<b>{esc(info.name)}</b><br>{esc(rnd.name)}: {withheld_text(report)}")
            else:
                xs.append(m.mean)
                texts.append(f"{m.mean:.0f}")
                hover.append(f"<b>{esc(info.name)}</b><br>{esc(rnd.name)}: mean {m.mean:.1f}"
                             + (f" (SD {m.sd:.1f})" if m.sd is not None else "") + f"<br>Pupils: {m.n}")
        traces.append(dict(
            type="bar", orientation="h", x=xs, y=names, name=esc(rnd.name), text=texts, textposition="outside",
            cliponaxis=False, hovertext=hover, hoverinfo="text", textfont=dict(size=11),
            marker=dict(color=COLORWAY[r % len(COLORWAY)], line=dict(width=0)),
        ))
    rows = len(names)
    bar_px = 15 * max(1, len(report.rounds)) + 14
    layout = chart_layout(
        report, "Mean score in each round",
        "Mean factor score (0 to 100) of the selected pupils who answered in each round.",
        plot_px=bar_px * rows, axis_px=64, left_px=text_px(max(names, key=len)) + 16 if names else 40,
        legend=[r.name for r in report.rounds], barmode="group", bargap=0.25, bargroupgap=0.05,
        xaxis=dict(range=[0, 100], dtick=20, title=dict(text="Mean score (0\u2013100)"), gridcolor=GRID,
                   ticks="outside"),
        yaxis=dict(autorange="reversed", automargin=True, showgrid=False, ticklabelstandoff=8),
        margin=dict(r=50),
    )
    return go.Figure(data=traces, layout=layout)


# ---- the charts a report offers ----

ChartFunction = Callable[[CohortReport], go.Figure]

CHARTS: OrderedDict[str, tuple[str, ChartFunction]] = OrderedDict([
    ("change", ("Change on each factor", forest_figure)),
    ("means", ("Mean score in each round", mean_profile_figure)),
    ("bands", ("Movement between bands", band_movement_figure)),
    ("distribution", ("How much each pupil changed", change_distribution_figure)),
    ("subgroups", ("Sub-groups compared", subgroup_figure)),
])


def available_charts(report: CohortReport) -> OrderedDict[str, tuple[str, ChartFunction]]:
    """Return the charts that apply to `report`, in page order (sub-groups only with a split)."""
    return OrderedDict(
        (name, entry) for name, entry in CHARTS.items()
        if name != "subgroups" or len(report.subgroups) >= 2
    )


def chart_alt_text(name: str, report: CohortReport) -> str:
    """Return a one-sentence description of a chart for screen readers and image alt text."""
    texts = {
        "change": "Mean change with its 95% confidence interval on each of the nine factors; "
                  "the numbers are in the table of change on each factor.",
        "means": "Mean score on each factor in each round, as grouped bars from 0 to 100.",
        "bands": "For each factor, the share of pupils who moved down a band, stayed in the same band or moved up.",
        "distribution": "Nine small histograms, one per factor, of how many pupils changed by how much.",
        "subgroups": "Mean change with 95% confidence intervals on each factor for "
                     + " and ".join(g.label for g in report.subgroups) + ", side by side.",
    }
    return texts.get(name, CHARTS[name][0] if name in CHARTS else name)
