"""The printable cohort change report: an HTML print view and the same printed to PDF.

The HTML (cohort/templates/cohort/report_print.html with static/css/report-print.css) has a cover,
"How to read this", every chart as an SVG image (a data: URL, which the CSP allows for
images) and every table. The PDF is that HTML printed by the warm Chromium of images.py,
so the two always match and nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...charts.cohort import available_charts, chart_alt_text
from ...charts.cohort_layout import comparison_label, local_time
from ...scoring.cohort_report import CohortReport, CohortResult
from .images import figure_bytes, html_to_pdf
from .notes import BLANK_NOTE, TITLE, about_lines, method_notes
from .print_tables import print_tables

Progress = Callable[[float, str], None]
PACKAGE = Path(__file__).resolve().parents[2]  # survey_app/
TEMPLATE = "cohort/report_print.html"
CSS_PATH = PACKAGE / "static" / "css" / "report-print.css"
CSS_NAME = "report-print.css"
@dataclass(frozen=True)
class ChartImage:
    name: str
    title: str
    alt: str
    svg: bytes

    @property
    def src(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def _quiet(_fraction: float, _message: str) -> None:
    return None


def chart_images(report: CohortReport, progress: Progress = _quiet, svgs: dict[str, bytes] | None = None
                 ) -> list[ChartImage]:
    """Return every chart of the report as SVG (`svgs` supplies any already drawn)."""
    charts = available_charts(report)
    images = []
    for i, (name, (title, build)) in enumerate(charts.items()):
        progress(i / len(charts), f"Drawing the chart \u201c{title}\u201d")
        svg = (svgs or {}).get(name) or figure_bytes(build(report), "svg")
        images.append(ChartImage(name, title, chart_alt_text(name, report), svg))
    return images


def _glance(report: CohortReport, cohort: CohortResult) -> list[dict]:
    """Return plain sentences naming the factors with a clear rise, a clear fall or neither."""
    names = {f.key: f.name for f in report.factors}
    items = []
    for comparison in cohort.comparisons:
        rise, fall, unclear, withheld = [], [], [], []
        for c in comparison.factors:
            name = names.get(c.factor, c.factor)
            if c.suppressed or c.mean_change is None:
                withheld.append(name)
            elif c.p_holm is not None and c.p_holm < 0.05:
                change = f"{c.mean_change:+.1f}".replace("-", "\u2212")
                (rise if c.mean_change > 0 else fall).append(f"{name} ({change})")
            else:
                unclear.append(name)
        lines = [{"heading": "Clear rise", "text": "; ".join(rise) or "none"},
                 {"heading": "Clear fall", "text": "; ".join(fall) or "none"},
                 {"heading": "No clear change", "text": "; ".join(unclear) or "none"}]
        if withheld:
            lines.append({"heading": "Withheld (small numbers)", "text": "; ".join(withheld)})
        items.append({"label": f"{cohort.label}: {comparison_label(comparison)}", "lines": lines})
    return items


def print_context(report: CohortReport, charts: list[ChartImage], css_href: str, back_href: str | None = None,
                  pdf_href: str | None = None) -> dict:
    """Return the variables of the print template (Flask's render_template can use them too)."""
    glance = [item for cohort in [report.main, *report.subgroups] for item in _glance(report, cohort)]
    return dict(
        title=TITLE, report=report, about=about_lines(report), notes=method_notes(report), charts=charts,
        tables=print_tables(report), glance=glance, blank_note=BLANK_NOTE, css_href=css_href,
        back_href=back_href, pdf_href=pdf_href,
    )


_environment: Environment | None = None


def _default_css_href() -> str:
    from flask import has_request_context, url_for

    return url_for("static", filename="css/" + CSS_NAME) if has_request_context() else CSS_NAME


def _template():
    global _environment
    if _environment is None:
        _environment = Environment(loader=FileSystemLoader(PACKAGE / "cohort" / "templates"),
                                   autoescape=select_autoescape(["html"]), trim_blocks=False)
    return _environment.get_template(TEMPLATE)


def report_html(report: CohortReport, *, css_href: str | None = None, back_href: str | None = None,
                pdf_href: str | None = None, charts: list[ChartImage] | None = None,
                progress: Progress = _quiet) -> str:
    """Return the print view as one HTML document (charts drawn unless given).

    `css_href` is where the page finds report-print.css; by default the app's static URL
    inside a request, else the bare file name (beside the HTML in a ZIP or a temporary folder).
    """
    if css_href is None:
        css_href = _default_css_href()
    if charts is None:
        charts = chart_images(report, progress)
    return _template().render(**print_context(report, charts, css_href, back_href, pdf_href))


def report_pdf(report: CohortReport, *, charts: list[ChartImage] | None = None,
               progress: Progress = _quiet) -> bytes:
    """Return the printable report as PDF: cover, notes, one chart a page, tables in landscape."""
    if charts is None:
        charts = chart_images(report, lambda f, m: progress(f * 0.8, m))
    page = report_html(report, charts=charts, css_href=CSS_NAME)
    progress(0.85, "Printing the report to PDF")
    made = local_time(report.generated_at, report.timezone).strftime("%-d %b %Y")
    footer = (
        '<div style="font-size:8px;color:#4a5360;width:100%;padding:0 12mm;display:flex;'
        'justify-content:space-between;font-family:Verdana,DejaVu Sans,sans-serif">'
        f"<span>{html.escape(TITLE)} \u00b7 {html.escape(report.selection_label)} \u00b7 {html.escape(made)}</span>"
        '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    )
    with tempfile.TemporaryDirectory(prefix="cohort-report-") as folder:
        path = Path(folder) / "report.html"
        path.write_text(page, encoding="utf-8")
        (Path(folder) / CSS_NAME).write_bytes(CSS_PATH.read_bytes())
        data = html_to_pdf(path, footer)
    progress(1.0, "Report ready")
    return data
