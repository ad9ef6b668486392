"""Roster import routes: upload → preview (nothing written) → confirm → result.

The upload is kept in PendingImport, not in a worker's memory, so any worker can show the
preview and take the confirmation. A pending import belongs to the member of staff who
uploaded it and lasts an hour.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..files.cells import safe_row
from ..jobs import enqueue
from ..models import ChangeLog, PendingImport, School, StaffUser
from ..models.base import utcnow
from .forms import ButtonForm, ConfirmImportForm, UploadRosterForm
from .jobs import IMPORT
from .roster import RosterPreview, apply_import, preview_import
from .roster_csv import MAX_BYTES, MAX_ROWS, RosterFileError, parse_roster
from .roster_files import read_roster_file
from .routes import bp

PENDING_FOR = timedelta(hours=1)
KIND = "pupils"


def _pending_or_404(token: str) -> tuple[PendingImport, School]:
    """Return the signed-in user's pending import (under an hour old) and its school, else 404."""
    pending = db.session.scalar(select(PendingImport).where(
        PendingImport.token == token, PendingImport.kind == KIND,
        PendingImport.staff_id == current_user.id, PendingImport.created_at > utcnow() - PENDING_FOR))
    if pending is None or pending.school_id is None:
        raise NotFound()
    return pending, current_scope().school_or_404(db.session, pending.school_id)


def _preview(pending: PendingImport, school: School) -> RosterPreview:
    return preview_import(db.session, school, parse_roster(pending.content), scope=current_scope())


def _render_upload(form: UploadRosterForm, status: int = 200, file_error: str | None = None):
    if file_error:
        form.roster.errors = [*form.roster.errors, file_error]
    return render_template("schools/import_upload.html", form=form, max_mb=MAX_BYTES // (1024 * 1024),
                           max_rows=MAX_ROWS,
                           upload_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)), status


@bp.route("/import", methods=["GET", "POST"])
@staff_required("admin", "lead")
def upload_roster():
    scope = current_scope()
    # Requests over MAX_CONTENT_LENGTH (4 MB) never reach here: the 413 page answers them.
    form = UploadRosterForm()
    form.school.choices = [SelectChoice(s.id, f"{s.name} (URN {s.urn})") for s in db.session.scalars(scope.schools())]
    if not form.is_submitted():
        form.school.data = request.args.get("school", type=int)
    if not form.validate_on_submit():
        return _render_upload(form, 400 if form.errors else 200)
    school = scope.school_or_404(db.session, form.school.data)
    upload = form.roster.data
    try:
        text = read_roster_file(upload.stream, urn=school.urn, upn_field=form.upn_field.data or None,
                                classes_as_groups=form.classes_as_groups.data).text
        parse_roster(text)
    except RosterFileError as exc:
        return _render_upload(form, 400, str(exc))
    # Uploads older than an hour can never be confirmed: clear this user's away.
    db.session.execute(delete(PendingImport).where(
        PendingImport.staff_id == current_user.id, PendingImport.created_at <= utcnow() - PENDING_FOR))
    pending = PendingImport(
        token=secrets.token_urlsafe(32), staff_id=current_user.id, kind=KIND, school_id=school.id,
        filename=(upload.filename or "roster.csv")[-255:], content=text, created_at=utcnow())
    db.session.add(pending)
    db.session.commit()
    return redirect(url_for(".preview_roster", token=pending.token))


def _render_preview(pending, school, preview, status=200, error=None):
    return render_template(
        "schools/import_preview.html", pending=pending, school=school, preview=preview,
        form=ConfirmImportForm(formdata=None, digest=preview.digest()), cancel=ButtonForm(), error=error,
        problem_rows=[(p.row, p.upn, p.name, p.reason) for p in preview.problems],
        expires=pending.created_at + PENDING_FOR,
    ), status


@bp.get("/import/<token>")
@staff_required("admin", "lead")
def preview_roster(token: str):
    pending, school = _pending_or_404(token)
    return _render_preview(pending, school, _preview(pending, school))


@bp.post("/import/<token>/confirm")
@staff_required("admin", "lead")
def confirm_roster(token: str):
    pending, school = _pending_or_404(token)
    preview = _preview(pending, school)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _render_preview(pending, school, preview, 400, "That button had expired, so nothing "
                               "was imported. Check the preview and confirm again.")
    if form.digest.data != preview.digest():
        return _render_preview(pending, school, preview, 409, "The school's pupils changed after you "
                               "looked at this preview, so nothing was imported. Check it again and confirm.")
    # Claiming the pending row first makes a double click (or a second worker) import once.
    claimed = db.session.execute(delete(PendingImport).where(PendingImport.id == pending.id)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise NotFound()
    if _rows(preview) > current_app.config.get("IMPORT_QUEUE_ROWS", 300):
        return _queue_import(pending, school, preview)
    try:
        result = apply_import(db.session, school, current_user, preview, filename=pending.filename)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        pending, school = _pending_or_404(token)
        return _render_preview(pending, school, _preview(pending, school), 409, "Someone else changed "
                               "this school's pupils at the same moment, so nothing was imported. "
                               "Check the preview again and confirm.")
    return redirect(url_for(".import_result", school_id=school.id, log_id=result.log_id))


def _rows(preview: RosterPreview) -> int:
    return len(preview.to_add) + len(preview.to_change) + len(preview.unchanged) + len(preview.problems)


def _queue_import(pending: PendingImport, school: School, preview: RosterPreview):
    """A large file is imported by the job queue's worker; the lead follows it on the job's page."""
    job = enqueue(IMPORT, session=db.session, staff=current_user, upload=pending.content.encode("utf-8"),
                  school_id=school.id, filename=pending.filename, digest=preview.digest())
    return redirect(url_for("jobs.job_page", token=job.token))


@bp.post("/import/<token>/cancel")
@staff_required("admin", "lead")
def cancel_roster(token: str):
    pending, school = _pending_or_404(token)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _render_preview(pending, school, _preview(pending, school), 400,
                               "That button had expired. Please try again.")
    db.session.delete(pending)
    db.session.commit()
    flash("The import was cancelled; nothing was imported.", "info")
    return redirect(url_for(".upload_roster", school=school.id))


def _refused_csv(rows: list[list], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["row", "upn", "reason"])
    writer.writeheader()
    for row, upn, reason in rows:
        writer.writerow(safe_row({"row": row, "upn": upn, "reason": reason}))
    stem = "".join(c for c in filename.rsplit(".", 1)[0] if c.isalnum() or c in "-_")[:60] or "roster"
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{stem}-refused-rows.csv"'})


@bp.get("/import/<token>/refused.csv")
@staff_required("admin", "lead")
def preview_refused_csv(token: str):
    pending, school = _pending_or_404(token)
    preview = _preview(pending, school)
    return _refused_csv([[p.row, p.upn, p.reason] for p in preview.problems], pending.filename)


def _import_entry_or_404(school_id: int, log_id: int) -> tuple[School, ChangeLog, str | None]:
    school = current_scope().school_or_404(db.session, school_id)
    row = db.session.execute(
        select(ChangeLog, StaffUser.name).outerjoin(StaffUser, ChangeLog.staff_id == StaffUser.id)
        .where(ChangeLog.id == log_id, ChangeLog.entity == "school", ChangeLog.entity_id == school.id,
               ChangeLog.action == "imported pupils")).first()
    if row is None:
        raise NotFound()
    return school, row[0], row[1]


@bp.get("/<int:school_id>/imports/<int:log_id>")
@staff_required("admin", "lead")
def import_result(school_id: int, log_id: int):
    school, entry, who = _import_entry_or_404(school_id, log_id)
    summary = entry.changes or {}
    refused = [(row, upn, None, reason) for row, upn, reason in summary.get("refused_rows", [])]
    return render_template("schools/import_result.html", school=school, entry=entry, who=who,
                           summary=summary, refused=refused)


@bp.get("/<int:school_id>/imports/<int:log_id>/refused.csv")
@staff_required("admin", "lead")
def result_refused_csv(school_id: int, log_id: int):
    _, entry, _ = _import_entry_or_404(school_id, log_id)
    summary = entry.changes or {}
    return _refused_csv(summary.get("refused_rows", []), summary.get("filename", "roster"))
