"""Cohort charts of counts: movement between bands, and the distribution of change."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from ..scoring.cohort_report import BandMovement, CohortReport
from .cohort_layout import (
    DOWN,
    GRID,
    HIDDEN,
    MUTED,
    SAME,
    UP,
    chart_layout,
    comparison_label,
    text_px,
    withheld_text,
)
from .profile import COLORWAY
from .text import esc

# ---- movement between bands ----

def band_summary(movement: BandMovement) -> dict[str, int | None] | None:
    """Return pupils who moved down, stayed and moved up a band (bands lowest first), or
    None when the whole table is withheld.

    The report suppresses these three counts together with the band table (they take part
    in its complementary suppression), so they are used as they are.
    """
    if movement.total is None:
        return None
    return {"down": movement.moved_down, "same": movement.stayed, "up": movement.moved_up}


def band_movement_figure(report: CohortReport, comparison: int | None = None) -> go.Figure:
    """Return, per factor, the share of pupils who moved down a band, stayed, or moved up.

    All comparisons (one bar each) when `comparison` is None. Withheld groups are drawn as
    one pale "withheld" block; a wholly withheld factor is labelled instead of drawn.
    """
    comparisons = report.main.comparisons if comparison is None else [report.main.comparisons[comparison]]
    several = len(comparisons) > 1
    rows: list[tuple[str, str]] = []
    values: dict[str, list[float | None]] = {k: [] for k in ("down", "same", "up", "hidden")}
    texts: dict[str, list[str]] = {k: [] for k in values}
    side, annotations = [], []
    for info in report.factors:
        for comp in comparisons:
            movement = next(b for b in comp.bands if b.factor == info.key)
            row = (esc(info.name), esc(comp.later.name))
            rows.append(row)
            summary = band_summary(movement)
            if summary is None or not movement.total:
                for key in values:
                    values[key].append(None)
                    texts[key].append("")
                label = withheld_text(report) if summary is None else "no pupils in both rounds"
                annotations.append(dict(x=50, y=len(rows) - 1, xref="x", yref="y", showarrow=False,
                                        text=f"<i>{label}</i>", font=dict(size=11, color=MUTED)))
                side.append("<i>withheld</i>" if summary is None else "<i>none</i>")
                continue
            total = movement.total
            known = 0
            for key in ("down", "same", "up"):
                count = summary[key]
                values[key].append(None if count is None else 100 * count / total)
                texts[key].append("" if count is None else f"{100 * count / total:.0f}%")
                known += count or 0
            rest = total - known
            values["hidden"].append(100 * rest / total if rest else None)
            texts["hidden"].append("withheld" if rest else "")
            shown = {k: "\u2013" if v is None else str(v) for k, v in summary.items()}
            side.append(f"\u2193 {shown['down']}   = {shown['same']}   \u2191 {shown['up']}   of {total}")
    y = [[r[0] for r in rows], [r[1] for r in rows]] if several else [r[0] for r in rows]
    names = {"down": "Moved down a band or more", "same": "Stayed in the same band",
             "up": "Moved up a band or more", "hidden": "Withheld (small numbers)"}
    colours = {"down": DOWN, "same": SAME, "up": UP, "hidden": HIDDEN}
    order = ("down", "same", "hidden", "up")
    traces = []
    for key in order:
        font_colour = "#ffffff" if key in ("down", "up") else "#1b1f24"
        traces.append(dict(
            type="bar", orientation="h", x=values[key], y=y, name=names[key], text=texts[key],
            textposition="inside", insidetextanchor="middle", textfont=dict(color=font_colour, size=11),
            marker=dict(color=colours[key], line=dict(color="#ffffff", width=1),
                        pattern=dict(shape="/", fgcolor="#9aa5b1", size=6) if key == "hidden" else None),
            hovertemplate="%{y}<br>" + names[key] + ": %{text}<extra></extra>",
        ))
    # Category axes (plain or multi-category) place row i at position i.
    for i, text in enumerate(side):
        annotations.append(dict(x=1.01, y=i, xref="paper", yref="y", xanchor="left",
                                showarrow=False, text=text, font=dict(size=11, color="#1b1f24")))
    annotations.append(dict(x=1.01, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                            showarrow=False, text="<b>\u2193 down  = same  \u2191 up</b>", font=dict(size=11)))
    bar_px = 30
    left = text_px(max((r[0] for r in rows), key=len, default="")) + 16
    if several:
        left += text_px(max((r[1] for r in rows), key=len, default="")) + 16
    subtitle = ("Pupils with a band in both rounds; bands from lowest to highest: "
                + ", ".join(report.bands) + ". Percentages of the pupils compared.")
    layout = chart_layout(
        report, "Movement between bands"
        + ("" if several else f": {comparison_label(comparisons[0])}"), subtitle,
        plot_px=bar_px * len(rows) + 10, axis_px=64, left_px=left, header_px=16,
        legend=[names[k] for k in order], annotations=annotations, barmode="stack",
        bargap=0.3, uniformtext=dict(minsize=10, mode="hide"),
        xaxis=dict(range=[0, 100], dtick=20, ticksuffix="%", title=dict(text="Share of pupils compared"),
                   gridcolor=GRID, ticks="outside"),
        yaxis=dict(autorange="reversed", automargin=True, showgrid=False, showdividers=True,
                   dividercolor=GRID, tickfont=dict(size=12), ticklabelstandoff=8),
        margin=dict(r=175),
    )
    return go.Figure(data=traces, layout=layout)


# ---- distribution of individual changes ----

def _panel_axes(index: int, rows: int, cols: int, x_range: list[float], top: int
                ) -> tuple[dict, float, float, float]:
    """Return the axes of small-multiple panel `index`, its left and right edges and its top
    (paper units)."""
    gap_x, gap_y = 0.06, 0.12
    width = (1 - gap_x * (cols - 1)) / cols
    height = (1 - gap_y * (rows - 1)) / rows
    row, col = divmod(index, cols)
    suffix = "" if index == 0 else str(index + 1)
    x0 = col * (width + gap_x)
    y1 = 1 - row * (height + gap_y)
    axes = {
        f"xaxis{suffix}": dict(
            domain=[round(x0, 4), min(1.0, round(x0 + width, 4))], range=x_range, anchor=f"y{suffix}",
            gridcolor=GRID, ticks="outside", zeroline=False, dtick=20, tickfont=dict(size=10),
            title=dict(text="Change (points)", font=dict(size=11)) if row == rows - 1 else None),
        f"yaxis{suffix}": dict(
            domain=[max(0.0, round(y1 - height, 4)), round(y1, 4)], range=[0, top], anchor=f"x{suffix}",
            gridcolor=GRID, tickfont=dict(size=10),
            title=dict(text="Pupils", font=dict(size=11)) if col == 0 else None),
    }
    return axes, x0, x0 + width, y1


def change_distribution_figure(report: CohortReport, comparison: int | None = None) -> go.Figure:
    """Return small multiples (one panel per factor) of how many pupils changed by how much.

    All comparisons side by side in each panel when `comparison` is None. A withheld bin
    is marked with a grey cross on the axis instead of a bar.
    """
    comparisons = report.main.comparisons if comparison is None else [report.main.comparisons[comparison]]
    several = len(comparisons) > 1
    bins = [b for comp in comparisons for dist in comp.distributions for b in dist.bins]
    # Show the ranges that hold pupils (or withheld counts), one empty range either side.
    used = [b for b in bins if b.count != 0] or bins
    pad = max((b.high - b.low for b in bins), default=10)
    x_range = [max(min((b.low for b in bins), default=-50), min((b.low for b in used), default=-50) - pad),
               min(max((b.high for b in bins), default=50), max((b.high for b in used), default=50) + pad)]
    top = math.ceil(max([b.count or 0 for b in bins] + [1]) * 1.12) + 1
    cols = 3
    rows = max(1, math.ceil(len(report.factors) / cols))
    round_colour = {r.id: i for i, r in enumerate(report.rounds)}
    layout_axes: dict[str, dict] = {}
    traces, annotations, shapes = [], [], []
    hidden_in_legend = False
    for i, info in enumerate(report.factors):
        axes, left, right, top_y = _panel_axes(i, rows, cols, x_range, top)
        layout_axes.update(axes)
        suffix = "" if i == 0 else str(i + 1)
        annotations.append(dict(text=f"<b>{esc(info.name)}</b>", x=left, y=top_y, xref="paper", yref="paper",
                                xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=12)))
        shapes.append(dict(type="line", xref=f"x{suffix}", yref=f"y{suffix} domain", x0=0, x1=0, y0=0, y1=1,
                           line=dict(color="#1b1f24", width=1, dash="dot")))
        for c, comp in enumerate(comparisons):
            dist = next(d for d in comp.distributions if d.factor == info.key)
            if all(b.count is None for b in dist.bins):
                who = f"{esc(comp.later.name)}: " if several else ""
                annotations.append(dict(
                    text=f"<i>{who}{withheld_text(report)}</i>", x=right, y=top_y - 0.02 - 0.06 * c,
                    xref="paper", yref="paper", xanchor="right", yanchor="top", showarrow=False,
                    font=dict(size=10, color=MUTED), bgcolor="#ffffff"))
                continue
            share = 1 / len(comparisons)
            shown = [b for b in dist.bins if b.count is not None]
            centre = [b.low + (b.high - b.low) * share * (c + 0.5) for b in dist.bins]
            if several:
                colours = [COLORWAY[round_colour.get(comp.later.id, c + 1) % len(COLORWAY)]] * len(shown)
            else:
                colours = [DOWN if b.high <= 0 else UP if b.low >= 0 else SAME for b in shown]
            traces.append(dict(
                type="bar", x=[x for x, b in zip(centre, dist.bins, strict=True) if b.count is not None],
                y=[b.count for b in shown], width=[(b.high - b.low) * share * 0.9 for b in shown],
                xaxis=f"x{suffix}", yaxis=f"y{suffix}", marker=dict(color=colours, line=dict(width=0)),
                hoverinfo="text", name=esc(comparison_label(comp)), legendgroup=str(c),
                showlegend=several and i == 0,
                hovertext=[f"<b>{esc(info.name)}</b><br>{esc(comparison_label(comp))}<br>"
                           f"change {b.low:+g} to {b.high:+g}: {b.count} pupils" for b in shown],
            ))
            hidden_x = [x for x, b in zip(centre, dist.bins, strict=True) if b.count is None]
            if hidden_x:
                traces.append(dict(
                    type="scatter", mode="markers", x=hidden_x, y=[0] * len(hidden_x), xaxis=f"x{suffix}",
                    yaxis=f"y{suffix}", marker=dict(symbol="x-thin", size=9, line=dict(width=2, color=MUTED)),
                    cliponaxis=False, hoverinfo="text", name="Withheld (small numbers)", legendgroup="hidden",
                    hovertext=[f"{esc(info.name)}: withheld (small numbers)"] * len(hidden_x),
                    showlegend=not hidden_in_legend, legendrank=2000,
                ))
                hidden_in_legend = True
    legend = [comparison_label(c) for c in comparisons] if several else ["Scores went down", "Scores went up"]
    if not several:
        for name, colour in (("Scores went down", DOWN), ("Scores went up", UP)):
            traces.append(dict(type="bar", x=[None], y=[None], name=name, marker=dict(color=colour),
                               showlegend=True, hoverinfo="skip"))
    subtitle = ("How many pupils changed by how much, per factor (pupils in both rounds; "
                "dotted line: no change; \u00d7: bin withheld).")
    title = "How much each pupil changed" + ("" if several else f": {comparison_label(comparisons[0])}")
    layout = chart_layout(
        report, title, subtitle, plot_px=int(150 * rows + 40 * (rows - 1)), axis_px=64, left_px=60,
        header_px=20, annotations=annotations, legend=[*legend, "Withheld (small numbers)"], shapes=shapes,
        barmode="overlay", bargap=0, **layout_axes,
    )
    return go.Figure(data=traces, layout=layout)


