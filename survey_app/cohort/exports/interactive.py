"""A chart as one self-contained HTML file that opens offline, with hover and zoom.

plotly.js is inlined from the bundle the app serves at /vendor/plotly.min.js, so the file
needs no network; the title, selection, rounds, date, questionnaire version and the
small-numbers rule are written beside the chart as text. The file is opened from disk,
where the app's Content-Security-Policy does not apply, so its script and style are inline.
"""

from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import escape

from ...charts import plotly_js_path
from ...scoring.cohort_report import CohortReport
from .notes import about_lines

STYLE = """
body { margin: 0; background: #fff; color: #1b1f24; font: 16px/1.5 Verdana, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1140px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0 0 1rem; font-size: 0.95rem; }
dt { font-weight: bold; }
dd { margin: 0; }
.chart { width: 100%; min-height: 300px; }
.hint { color: #4a5360; font-size: 0.9rem; }
"""


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    source = plotly_js_path().read_text(encoding="utf-8")
    # Cannot happen with the bundles shipped so far; kept so a future one cannot end the script early.
    return source.replace("</script", "<\\/script")


def figure_json(fig: go.Figure) -> str:
    """Return the figure as JSON that is safe inside a <script> element."""
    return pio.to_json(fig, validate=False).replace("<", "\\u003c")


def interactive_html(fig: go.Figure, report: CohortReport, title: str, description: str = "") -> str:
    """Return a complete HTML document showing `fig` with hover and zoom, needing no network."""
    about = "".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in about_lines(report))
    return (
        "<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
        f"<title>{escape(title)} \u2013 {escape(report.selection_label)}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{escape(title)}</h1>\n<dl>{about}</dl>\n"
        f"<div id=\"chart\" class=\"chart\" role=\"img\" aria-label=\"{escape(description or title)}\"></div>\n"
        "<p class=\"hint\">Point at a mark to see its numbers; drag to zoom, double-click to zoom out. "
        "This file works without an internet connection.</p>\n"
        "</main>\n"
        f"<script>{_plotly_js()}</script>\n"
        f"<script>(function () {{ var figure = {figure_json(fig)};\n"
        "Plotly.newPlot(\"chart\", figure.data, figure.layout, "
        "{displaylogo: false, responsive: true}); }());</script>\n"
        "</body>\n</html>\n"
    )
