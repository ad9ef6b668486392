"""Everything about one cohort report in one ZIP: charts, data, the printable report, a README."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from ...charts.cohort import available_charts, chart_alt_text
from ...scoring.cohort_report import CohortReport
from .images import figure_bytes
from .interactive import interactive_html
from .notes import BLANK_NOTE, TITLE, about_lines
from .report import CSS_NAME, CSS_PATH, ChartImage, report_html, report_pdf
from .tables import build_tables, tables_csv, tables_xlsx

Progress = Callable[[float, str], None]
PNG_SCALE = 2  # pixels per layout pixel: sharp on slides and in print


def readme_text(report: CohortReport, members: list[str]) -> str:
    """Return README.txt: what the ZIP holds, the selection, and the small-numbers rule."""
    lines = [TITLE, "=" * len(TITLE), ""]
    lines += [f"{label}: {value}" for label, value in about_lines(report)]
    lines += ["", BLANK_NOTE, "", "What is in this folder:", ""]
    lines += [f"  {name}" for name in members]
    lines += ["", "charts/: each chart as PNG (for slides), SVG (for print, scales without blur),",
              "  PDF, and HTML (opens in a browser without an internet connection; point at a mark",
              "  to see its numbers).",
              "data/: every table as CSV (all tables in one file, and one file per table) and as",
              "  an Excel workbook whose first sheet describes the rest.",
              "report/: the printable report as PDF, and as HTML (keep report-print.css beside it).", ""]
    return "\r\n".join(lines)


def chart_files(report: CohortReport, fmt: str, progress: Progress, start: float = 0.0, span: float = 1.0
                ) -> list[tuple[str, bytes]]:
    """Return (file name, bytes) of every chart in one format: png, svg, pdf or html."""
    charts = available_charts(report)
    files = []
    for i, (name, (title, build)) in enumerate(charts.items()):
        progress(start + span * i / len(charts), f"Drawing \u201c{title}\u201d as {fmt.upper()}")
        fig = build(report)
        if fmt == "html":
            data = interactive_html(fig, report, title, chart_alt_text(name, report)).encode("utf-8")
        else:
            data = figure_bytes(fig, fmt, scale=PNG_SCALE if fmt == "png" else 1)
        files.append((f"{name}.{fmt}", data))
    return files


def bundle_zip(report: CohortReport, base: str, progress: Progress) -> bytes:
    """Return the ZIP of everything, its members inside a folder called `base`."""
    files: list[tuple[str, bytes]] = []
    svgs: dict[str, bytes] = {}
    for step, fmt in enumerate(("svg", "png", "pdf", "html")):
        for name, data in chart_files(report, fmt, progress, start=0.6 * step / 4, span=0.6 / 4):
            files.append((f"charts/{name}", data))
            if fmt == "svg":
                svgs[name.rsplit(".", 1)[0]] = data
    progress(0.6, "Writing the tables")
    files.append(("data/cohort-change.csv", ("\ufeff" + tables_csv(report)).encode("utf-8")))
    for table in build_tables(report):
        files.append((f"data/tables/{table.key}.csv", ("\ufeff" + tables_csv(report, table.key)).encode("utf-8")))
    files.append(("data/cohort-change.xlsx", tables_xlsx(report)))
    progress(0.7, "Writing the printable report")
    charts = available_charts(report)
    images = [ChartImage(name, title, chart_alt_text(name, report), svgs[name])
              for name, (title, _build) in charts.items()]
    page = report_html(report, charts=images, css_href=CSS_NAME)
    files.append(("report/cohort-change-report.html", page.encode("utf-8")))
    files.append((f"report/{CSS_NAME}", CSS_PATH.read_bytes()))
    files.append(("report/cohort-change-report.pdf",
                  report_pdf(report, charts=images, progress=lambda f, m: progress(0.7 + 0.25 * f, m))))
    names = ["README.txt"] + [name for name, _ in files]
    files.insert(0, ("README.txt", readme_text(report, names).encode("utf-8")))
    progress(0.97, "Packing the ZIP file")
    return pack(files, base)


def pack(files: list[tuple[str, bytes]], base: str) -> bytes:
    """Return a ZIP of (name, bytes) pairs inside the folder `base`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, data in files:
            archive.writestr(f"{base}/{name}", data)
    return out.getvalue()
