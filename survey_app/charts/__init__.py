"""Pure chart functions: plain data in, Plotly figures out (no Flask, no area).

The same figure feeds the page (as JSON read by static/js/charts.js), the static image
export and the interactive HTML export. Where plotly.js is and the stylesheet it would
inject are found here; the web platform serves both (survey_app.templating).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path


def plotly_js_path() -> Path:
    """Return the path of the plotly.min.js bundled with the plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


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
