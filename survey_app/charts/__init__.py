"""Pure chart functions (plain data in, Plotly figure out) and the route serving Plotly's JS.

The same figure feeds the page (as JSON read by static/js/charts.js), the static image
export and the interactive HTML export. Plotly's JavaScript is served by the app itself.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, send_file

bp = Blueprint("charts", __name__)


def plotly_js_path() -> Path:
    """Return the path of the plotly.min.js bundled with the plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@bp.get("/vendor/plotly.min.js")
def plotly_js():
    return send_file(plotly_js_path(), mimetype="text/javascript", max_age=7 * 24 * 3600)


_RULE = re.compile(r'"((?:[^"\\]|\\.)*)":(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\')')


@lru_cache(maxsize=1)
def plotly_css() -> str:
    """Return the stylesheet Plotly would otherwise inject as an inline <style> element.

    Our Content-Security-Policy forbids inline styles, so the rules are lifted from the
    bundled plotly.min.js once and served as a file; the page marks it with the id and
    class Plotly looks for (`plotly.js-style-global`, `no-inline-styles`) so Plotly
    does not try to inject them.
    """
    source = plotly_js_path().read_text(encoding="utf-8")
    start = source.find('{"X,X div"')
    if start < 0:
        return "/* plotly rules not found in this plotly.js build */\n"
    end = source.find("};for(", start)
    rules = []
    for key, double, single in _RULE.findall(source[start:end + 1]):
        selector = key.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        if selector.startswith(","):
            selector = " " + selector
        rules.append(f"{selector}{{{double or single}}}")
    return "/* Lifted from plotly.min.js (MIT licence) for a strict CSP */\n" + "\n".join(rules) + "\n"


@bp.get("/vendor/plotly.css")
def plotly_stylesheet():
    response = Response(plotly_css(), mimetype="text/css")
    response.cache_control.max_age = 7 * 24 * 3600
    return response
