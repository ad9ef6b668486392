"""The authority dashboard and its exports (authority staff and administrators)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from ..accounts.access import staff_required
from ..charts.funnel import funnel_figure
from ..db import db, lag_message, replica_lag_seconds, reports_session
from ..models.base import utcnow
from .dashboard import build_dashboard, parse_selection
from .exports import dashboard_csv, dashboard_xlsx
from .operations import record_dashboard_export
from .queries import all_authorities, authority_for

bp = Blueprint("authority", __name__, template_folder="templates", url_prefix="/staff/authority")
ROLES = ("authority", "admin")
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _board():
    """Return the dashboard for the request's selection, or 404 when there is no authority to see."""
    asked = request.args.get("authority", type=int)
    authority = authority_for(db.session, current_user, asked)
    if authority is None:
        abort(404)
    args = {key: request.args.getlist(key) for key in request.args}
    threshold = int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))
    reads = reports_session()  # the replica when REPORTS_DATABASE_URL is set
    board = build_dashboard(reads, authority, parse_selection(args), threshold, utcnow())
    if reads is not db.session:
        board.lag_notice = lag_message(replica_lag_seconds(reads))
    return board


@bp.get("/")
@staff_required(*ROLES)
def dashboard():
    board = _board()
    chart = None
    if board.funnel is not None:
        f = board.funnel
        chart = funnel_figure(f"{f.name}: school means against pupils", f.centre,
                              [(p.school, p.n, p.mean, p.flag) for p in f.points],
                              f.curves, board.privacy_note).to_json()
    authorities = all_authorities(db.session) if current_user.role == "admin" else []
    return render_template("authority/dashboard.html", board=board, chart=chart, authorities=authorities,
                           query=request.query_string.decode("ascii", "replace"))


@bp.get("/export.<fmt>")
@staff_required(*ROLES)
def export(fmt: str):
    if fmt not in EXPORT_TYPES:
        abort(404)
    board = _board()
    if board.errors:
        abort(400, " ".join(board.errors))
    body = dashboard_csv(board) if fmt == "csv" else dashboard_xlsx(board)
    record_dashboard_export(db.session, current_user, board.authority, fmt, [r.id for r in board.selected])
    db.session.commit()
    name = f"authority-{board.authority.id}-{board.generated_at:%Y%m%d}.{fmt}"
    return Response(body, mimetype=EXPORT_TYPES[fmt], headers={"Content-Disposition": f"attachment; filename={name}"})
