"""Pure chart functions (plain data in, Plotly figure out) and the route serving Plotly's JS.

The same figure feeds the page (as JSON read by static/js/charts.js), the static image
export and the interactive HTML export. Plotly's JavaScript is served by the app itself.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_file

bp = Blueprint("charts", __name__)


def plotly_js_path() -> Path:
    """Return the path of the plotly.min.js bundled with the plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@bp.get("/vendor/plotly.min.js")
def plotly_js():
    return send_file(plotly_js_path(), mimetype="text/javascript", max_age=7 * 24 * 3600)
