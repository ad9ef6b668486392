"""Charts of a cohort change report: plain `CohortReport` in, Plotly figures out.

Every figure carries its own title and a footer naming the selection, the rounds, the
questionnaire version, the date and the suppression rule, so an exported image still
says what it shows when it is pasted into a governors' paper. Withheld numbers (None in
the report) are written as "withheld", never drawn as zero.

User text (selection, round, group and factor names) is escaped for Plotly, which reads
a few HTML tags in labels.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from survey_app.charts.profile import BASE_LAYOUT, COLORWAY, SYMBOLS
from survey_app.charts.text import esc
from survey_app.cohort.report import BandMovement, CohortReport, Comparison, FactorChange

MUTED = "#4a5360"
GRID = "#d0d6de"
DOWN, SAME, UP, HIDDEN = "#b03a2e", "#b8c0ca", "#1d4e89", "#eef1f4"
FOOTER_FONT = dict(size=11, color=MUTED)
FOOTER_LINE_PX = 15
FOOTER_WRAP = 125  # characters a footer line holds at the export width without running off
EXPORT_WIDTH = 1100  # pixels: the width images are exported at, and the layouts are planned for


def local_time(value: datetime) -> datetime:
    """Return a stored UTC time in the school's zone (DEFAULT_TIMEZONE, else Europe/London)."""
    zone = os.environ.get("DEFAULT_TIMEZONE", "Europe/London")
    try:
        from flask import current_app

        zone = current_app.config.get("DEFAULT_TIMEZONE", zone)
    except RuntimeError:  # outside an app context (a script or a test)
        pass
    return value.astimezone(ZoneInfo(zone)) if value.tzinfo else value


def date_text(value: datetime) -> str:
    return local_time(value).strftime("%-d %b %Y")


def round_text(report: CohortReport) -> str:
    """Return the rounds in words: 'Autumn (Sep 2025) → Spring (Jan 2026), Summer (Jun 2026)'."""
    parts = [f"{r.name} ({local_time(r.opens_at).strftime('%b %Y')})" for r in report.rounds]
    if not parts:
        return ""
    return parts[0] + (" \u2192 " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def comparison_label(comparison: Comparison) -> str:
    return f"{comparison.baseline.name} \u2192 {comparison.later.name}"


def footer_lines(report: CohortReport) -> list[str]:
    """Return the plain-text lines that make an exported chart self-describing."""
    generated = local_time(report.generated_at).strftime("%-d %b %Y, %H:%M")
    text = (
        f"Selection: {report.selection_label}. Rounds: {round_text(report)}. "
        f"Questionnaire {report.questionnaire_key} version {report.questionnaire_version}. "
        f"Made {generated}. Only pupils who answered in both rounds are compared. {report.suppression_note}"
    )
    if report.protected:
        text += " " + report.privacy_note
    return textwrap.wrap(text, FOOTER_WRAP)


def fmt_change(value: float | None, digits: int = 1) -> str:
    """Return a change with its sign ('+4.2', '−3.1', '0.0'), or 'withheld' for None."""
    if value is None:
        return "withheld"
    value = round(value, digits)
    if value == 0:
        return f"{0:.{digits}f}"
    return f"{value:+.{digits}f}".replace("-", "\u2212")


def withheld_text(report: CohortReport) -> str:
    return f"withheld (fewer than {report.threshold} pupils)"


def text_px(text: str, size: int = 13) -> int:
    """Return a generous width estimate of one line of DejaVu Sans/Verdana text, in pixels."""
    return int(len(text) * size * 0.58) + 4


def legend_rows(labels: Sequence[str], width: int = 1040) -> int:
    """Return how many rows a horizontal legend of these labels takes at the export width."""
    rows, used = (1, 0) if labels else (0, 0)
    for label in labels:
        entry = text_px(label) + 46
        if used and used + entry > width:
            rows, used = rows + 1, 0
        used += entry
    return rows


def _layout(report: CohortReport, title: str, subtitle: str, *, plot_px: int, axis_px: int, left_px: int,
            legend: Sequence[str] = (), header_px: int = 0, **extra) -> dict:
    """Return a layout with the title, subtitle, legend (if any) and footer placed in pixels.

    `plot_px` is the height of the plot area, `axis_px` the space the bottom axis (ticks and
    title) takes below it, `left_px` the left margin (labels), `legend` the legend's labels
    (none: no legend), `header_px` room above the plot area for column headings.
    """
    lines = footer_lines(report)
    footer_px = FOOTER_LINE_PX * len(lines) + 14
    title_px = 14 + 30 + (24 if subtitle else 0)
    margin = dict(l=left_px, r=30, t=0, b=axis_px + footer_px)
    margin.update(extra.pop("margin", {}))
    # Plotly wraps a horizontal legend at the width of the plot area.
    rows = legend_rows(legend, EXPORT_WIDTH - margin["l"] - margin["r"]) if legend else 0
    margin["t"] = title_px + 8 + 24 * rows + header_px + 10
    total = plot_px + margin["t"] + margin["b"]
    annotations = list(extra.pop("annotations", []))
    annotations.append(dict(
        text="<br>".join(esc(line) for line in lines), xref="paper", yref="paper", x=0, y=0,
        xanchor="left", yanchor="top", xshift=-(margin["l"] - 12), yshift=-axis_px, align="left",
        showarrow=False, font=FOOTER_FONT,
    ))
    title_block = dict(text=f"<b>{esc(title)}</b>", x=0.01, xanchor="left", xref="container",
                       y=1 - 14 / total, yanchor="top", yref="container", font=dict(size=18))
    if subtitle:
        title_block["subtitle"] = dict(text=esc(subtitle), font=dict(size=13, color=MUTED))
    legend_block = dict(orientation="h", x=0.01, xanchor="left", xref="container", y=1 - (title_px + 6) / total,
                        yanchor="top", yref="container", traceorder="normal", font=dict(size=13))
    return dict(BASE_LAYOUT, title=title_block, height=total, margin=margin, annotations=annotations,
                legend=legend_block, showlegend=rows > 0, **extra)


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
    layout = _layout(
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
    layout = _layout(
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
    layout = _layout(
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
    layout = _layout(
        report, title, subtitle, plot_px=int(150 * rows + 40 * (rows - 1)), axis_px=64, left_px=60,
        header_px=20, annotations=annotations, legend=[*legend, "Withheld (small numbers)"], shapes=shapes,
        barmode="overlay", bargap=0, **layout_axes,
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
