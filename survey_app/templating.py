"""Jinja filters shared by every area (times in the school's zone, signed numbers), and
the vendor assets templates load from this app, never from another host (plotly.js and
the stylesheet it would otherwise inject inline)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, send_file

from .charts import plotly_css, plotly_js_path

vendor = Blueprint("vendor", __name__)
WEEK = 7 * 24 * 3600


@vendor.get("/vendor/plotly.min.js")
def plotly_js():
    return send_file(plotly_js_path(), mimetype="text/javascript", max_age=WEEK)


@vendor.get("/vendor/plotly.css")
def plotly_stylesheet():
    response = Response(plotly_css(), mimetype="text/css")
    response.cache_control.max_age = WEEK
    return response


def local_time(value: datetime | None, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    """Return a stored UTC time shown in the configured time zone (Europe/London)."""
    if value is None:
        return "—"
    zone = ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE", "Europe/London"))
    return value.astimezone(zone).strftime(fmt)


def signed(value: float | None) -> str:
    """Return a change as '+12', '-3' or '0' (never '-0')."""
    if value is None:
        return "–"
    rounded = round(value)
    return f"{rounded:+d}" if rounded else "0"


def signed_decimal(value: float | None, digits: int = 1) -> str:
    """Return a change with a sign and `digits` decimals: '+1.2', '-0.4', '0.0' (never '-0.0')."""
    if value is None:
        return "\u2013"
    rounded = round(value, digits)
    if rounded == 0:
        return f"{0:.{digits}f}"
    return f"{rounded:+.{digits}f}"


def register_templating(app: Flask) -> None:
    """Add the shared filters and the vendor assets' routes."""
    app.register_blueprint(vendor)
    app.add_template_filter(signed_decimal, "signed_decimal")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(signed, "signed")
