"""What every cohort chart shares: colours, pixel planning, the footer that makes an
exported image self-describing, and number formats. Plain data in, layout dicts out."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ..scoring.cohort_report import CohortReport, Comparison
from .profile import BASE_LAYOUT
from .text import esc

MUTED = "#4a5360"
GRID = "#d0d6de"
DOWN, SAME, UP, HIDDEN = "#b03a2e", "#b8c0ca", "#1d4e89", "#eef1f4"
FOOTER_FONT = dict(size=11, color=MUTED)
FOOTER_LINE_PX = 15
FOOTER_WRAP = 125  # characters a footer line holds at the export width without running off
EXPORT_WIDTH = 1100  # pixels: the width images are exported at, and the layouts are planned for


def local_time(value: datetime, zone: str) -> datetime:
    """Return a stored UTC time in the school's time zone (the report's)."""
    return value.astimezone(ZoneInfo(zone)) if value.tzinfo else value


def round_text(report: CohortReport) -> str:
    """Return the rounds in words: 'Autumn (Sep 2025) → Spring (Jan 2026), Summer (Jun 2026)'."""
    parts = [f"{r.name} ({local_time(r.opens_at, report.timezone).strftime('%b %Y')})" for r in report.rounds]
    if not parts:
        return ""
    return parts[0] + (" \u2192 " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def comparison_label(comparison: Comparison) -> str:
    return f"{comparison.baseline.name} \u2192 {comparison.later.name}"


def footer_lines(report: CohortReport) -> list[str]:
    """Return the plain-text lines that make an exported chart self-describing."""
    generated = local_time(report.generated_at, report.timezone).strftime("%-d %b %Y, %H:%M")
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


def chart_layout(report: CohortReport, title: str, subtitle: str, *, plot_px: int, axis_px: int, left_px: int,
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


