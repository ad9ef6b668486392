"""Exports of the cohort change report: chart images, interactive HTML, CSV, XLSX, the
printable report (PDF) and a ZIP of everything.

`export_report(report, fmt, chart=None, progress=None)` is what the page, the CLI and the
background jobs call; it returns an `ExportFile` ready to send or save. Every export starts
from a finished `CohortReport`, whose numbers have already passed through suppression.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ...charts.cohort import available_charts, chart_alt_text
from ...charts.cohort_layout import local_time
from ...scoring.cohort_report import CohortReport

FORMATS = ("png", "svg", "pdf", "html", "csv", "xlsx", "report", "zip")
CHART_FORMATS = ("png", "svg", "pdf", "html")
MIMETYPES = {
    "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
FORMAT_NAMES = {"png": "PNG image", "svg": "SVG image", "pdf": "PDF", "html": "interactive web page",
                "csv": "CSV", "xlsx": "Excel workbook", "report": "printable report (PDF)", "zip": "ZIP of everything"}

Progress = Callable[[float, str], None]


class ExportError(ValueError):
    """The export asked for does not exist (unknown format or chart); the message says why."""


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    data: bytes


def slug(text: str, limit: int = 50) -> str:
    """Return text as a short ASCII file-name part: 'Years 7, 8 · FSM' -> 'years-7-8-fsm'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return words[:limit].rstrip("-") or "selection"


def export_filename(report: CohortReport, ext: str, chart: str | None = None) -> str:
    """Return e.g. 'cohort-change-years-7-8-fsm-change-2026-07-01.png'."""
    day = local_time(report.generated_at, report.timezone).strftime("%Y-%m-%d")
    part = f"-{chart}" if chart else ""
    return f"cohort-change-{slug(report.selection_label)}{part}-{day}.{ext}"


def _quiet(_fraction: float, _message: str) -> None:
    return None


def export_report(report: CohortReport, fmt: str, chart: str | None = None,
                  progress: Progress | None = None) -> ExportFile:
    """Return the report exported as `fmt` (one of FORMATS).

    png/svg/pdf/html: the chart named `chart`, or a ZIP of every chart in that format when
    `chart` is None. csv: every table in sections; xlsx: a workbook; report: the printable
    report as PDF; zip: everything. `progress(fraction, message)` is called as work goes on.
    Raises ExportError for an unknown format or chart (or a chart with a data format), and
    images.ImageExportError when the browser that draws images is missing or fails.
    """
    from . import bundle, images, interactive, tables
    from . import report as printable

    step = progress or _quiet
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    charts = available_charts(report)
    if chart is not None:
        if fmt not in CHART_FORMATS:
            raise ExportError("A single chart can be exported as PNG, SVG, PDF or HTML only.")
        if chart not in charts:
            raise ExportError(f"There is no chart called {chart!r} in this report; "
                              f"there are: {', '.join(charts)}.")
    step(0.0, "Starting")
    if fmt in CHART_FORMATS and chart is not None:
        title, build = charts[chart]
        step(0.1, f"Drawing \u201c{title}\u201d")
        fig = build(report)
        if fmt == "html":
            data = interactive.interactive_html(fig, report, title, chart_alt_text(chart, report)).encode("utf-8")
        else:
            data = images.figure_bytes(fig, fmt, scale=bundle.PNG_SCALE if fmt == "png" else 1)
        result = ExportFile(export_filename(report, fmt, chart), MIMETYPES[fmt], data)
    elif fmt in CHART_FORMATS:
        base = export_filename(report, fmt, f"charts-{fmt}").removesuffix(f".{fmt}")
        files = bundle.chart_files(report, fmt, lambda f, m: step(0.95 * f, m))
        result = ExportFile(base + ".zip", MIMETYPES["zip"], bundle.pack(files, base))
    elif fmt == "csv":
        data = ("\ufeff" + tables.tables_csv(report)).encode("utf-8")
        result = ExportFile(export_filename(report, "csv"), MIMETYPES["csv"], data)
    elif fmt == "xlsx":
        result = ExportFile(export_filename(report, "xlsx"), MIMETYPES["xlsx"], tables.tables_xlsx(report))
    elif fmt == "report":
        data = printable.report_pdf(report, progress=step)
        result = ExportFile(export_filename(report, "pdf", "report"), MIMETYPES["pdf"], data)
    else:
        base = export_filename(report, "zip").removesuffix(".zip")
        result = ExportFile(base + ".zip", MIMETYPES["zip"], bundle.bundle_zip(report, base, step))
    step(1.0, "Done")
    return result
