"""Cohort change: the selection page with the report, quick downloads, and background exports."""

from __future__ import annotations

from io import BytesIO
from urllib.parse import parse_qs

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..jobs import enqueue
from ..jobs.queries import job_for, page_state, stored_file
from ..memory import trim
from ..models.base import utcnow
from .build import CohortError, check_filters, cohort_report, selected_rounds, split_labels
from .jobs import EXPORT
from .options import selection_options
from .selection import parse_selection

bp = Blueprint("cohort", __name__, template_folder="templates", url_prefix="/staff/cohort")



@bp.teardown_request
def _give_back_memory(_exc):
    # A report is tens of megabytes for a moment: hand what was freed back to the system.
    trim()

QUICK_FORMATS = ("png", "svg", "pdf", "html", "csv", "xlsx")
BACKGROUND_FORMATS = ("report", "zip")


def _threshold() -> int:
    return int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))


def _zone() -> str:
    return current_app.config.get("DEFAULT_TIMEZONE", "Europe/London")


def _selection_args() -> dict[str, list[str]]:
    return {key: request.args.getlist(key) for key in request.args}


def _report_or_400(args: dict[str, list[str]]):
    """Return (selection, report) for query values, or abort 400 with the problems in words."""
    parsed = parse_selection(args)
    if parsed.errors:
        abort(400, " ".join(parsed.errors))
    try:
        report = cohort_report(db.session, current_scope(), parsed.selection, utcnow(), _threshold(), _zone())
    except CohortError as exc:
        abort(400, str(exc))
    return parsed.selection, report


@bp.get("/")
@staff_required()
def cohort_page():
    """Choose a cohort and rounds; with two or more rounds, show the change report."""
    scope = current_scope()
    parsed = parse_selection(_selection_args())
    options = selection_options(db.session, scope)
    report, problems, status = None, list(parsed.errors), 200
    if not problems and len(parsed.selection.round_ids) >= 2:
        try:
            report = cohort_report(db.session, scope, parsed.selection, utcnow(), _threshold(), _zone())
        except CohortError as exc:
            problems.append(str(exc))
    if problems:
        status = 400
    charts = _charts(report) if report else {}
    html = render_template("cohort/page.html", options=options, selection=parsed.selection, report=report,
                           problems=problems, charts=charts)
    db.session.commit()  # keep round statistics computed while building the report
    return html, status


def _charts(report) -> dict[str, dict]:
    from ..charts.cohort import available_charts, chart_alt_text

    return {
        name: {"title": title, "alt": chart_alt_text(name, report), "json": make(report).to_json()}
        for name, (title, make) in available_charts(report).items()
    }


@bp.get("/report")
@staff_required()
def print_view():
    """The printable cohort report (HTML print view; its charts drawn in a child process)."""
    from .exports.images import ImageExportError
    from .exports.isolated import chart_images_isolated
    from .exports.report import report_html

    _, report = _report_or_400(_selection_args())
    try:
        charts = chart_images_isolated(report)
    except ImageExportError as exc:
        _cannot_draw(exc)
    _record_export(report, "report-html")
    html = report_html(report, back_href=url_for("cohort.cohort_page") + "?" + report.selection_query,
                       charts=charts)
    db.session.commit()
    return html


@bp.get("/download/<fmt>")
@staff_required()
def download(fmt: str):
    """A quick export (one chart as an image or HTML, the tables as CSV or XLSX)."""
    from ..charts.cohort import CHARTS

    if fmt not in QUICK_FORMATS:
        abort(404)
    args = _selection_args()
    chart = (args.pop("chart", [""]) or [""])[0] or None
    if fmt in ("png", "svg", "pdf", "html") and chart not in CHARTS:
        abort(400, "Choose which chart to download.")
    _, report = _report_or_400(args)
    from ..charts.cohort import available_charts

    if chart is not None and chart not in available_charts(report):
        abort(400, "The sub-groups chart needs a comparison of two sub-groups: choose one under "
                   "“Compare two sub-groups side by side” first.")
    from .exports.images import ImageExportError
    from .exports.isolated import export_isolated

    try:
        exported = export_isolated(report, fmt, chart=chart)
    except ImageExportError as exc:
        _cannot_draw(exc)
    _record_export(report, fmt, chart=chart)
    db.session.commit()
    return send_file(_bytes_io(exported.data), mimetype=exported.mimetype, as_attachment=True,
                     download_name=exported.filename, max_age=0)


@bp.post("/exports")
@staff_required()
def start_export():
    """Start a long export (PDF report or ZIP of everything) in the background."""
    form = request.form
    fmt = form.get("format", "")
    if fmt not in BACKGROUND_FORMATS:
        abort(400, "Choose the PDF report or the ZIP of everything.")
    query = form.get("selection", "")
    if len(query) > 4000:
        abort(400, "The selection is too long.")
    # Refuse a bad selection now, not in the background; the statistics themselves are
    # worked out once, by the background job.
    parsed = parse_selection(parse_qs(query, keep_blank_values=False))
    if parsed.errors:
        abort(400, " ".join(parsed.errors))
    try:
        selected_rounds(db.session, current_scope(), parsed.selection)
        check_filters(db.session, current_scope(), parsed.selection)
        split_labels(db.session, current_scope(), parsed.selection)
    except CohortError as exc:
        abort(400, str(exc))
    job = enqueue(EXPORT, session=db.session, staff=current_user, selection=query, format=fmt)
    return redirect(url_for("cohort.export_status", token=job.token))


@bp.get("/exports/<token>")
@staff_required()
def export_status(token: str):
    job = job_for(db.session, current_user, token) or abort(404)
    return render_template("cohort/export_status.html", job=job, state=page_state(job))


@bp.get("/exports/<token>.json")
@staff_required()
def export_status_json(token: str):
    job = job_for(db.session, current_user, token) or abort(404)
    state = page_state(job)
    if state["status"] == "done":
        state["download"] = url_for("cohort.export_download", token=token)
    return jsonify(state)


@bp.get("/exports/<token>/download")
@staff_required()
def export_download(token: str):
    job = job_for(db.session, current_user, token) or abort(404)
    content = stored_file(job)
    if content is None:
        abort(404)
    return send_file(_bytes_io(content), mimetype=job.mimetype, as_attachment=True,
                     download_name=job.filename, max_age=0)


def _cannot_draw(exc: Exception):
    abort(503, f"{exc} Please tell your administrator. Meanwhile the tables (CSV, XLSX) and the "
               "interactive HTML charts can still be downloaded.")


def _bytes_io(data: bytes) -> BytesIO:
    return BytesIO(data)


def _record_export(report, fmt: str, chart: str | None = None, staff_id: int | None = None, session=None) -> None:
    """Note the export in the audit log (who exported which selection, in which format)."""
    from ..audit.log import record_export

    record_export(session or db.session, staff_id if staff_id is not None else current_user.id,
                  f"cohort change ({fmt})", format=fmt, chart=chart, selection=report.selection_query,
                  rounds=[r.id for r in report.rounds])
