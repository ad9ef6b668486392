"""Attainment and attendance import from the web: upload → preview (nothing written) →
confirm. The upload waits in PendingImport (any worker can confirm it) for an hour, and
belongs to the member of staff who uploaded it. Good rows are imported and refused rows
skipped, as the roster import does; the command line refuses the whole file instead."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from werkzeug.exceptions import NotFound
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models import PendingImport, School
from ..models.base import utcnow
from .files import MAX_BYTES, TrackingFileError, decode
from .forms import ButtonForm, ConfirmForm, UploadTrackingForm
from .imports import KINDS, ImportPreview, apply_import, preview_import
from .routes import bp

PENDING_FOR = timedelta(hours=1)


def _pending_or_404(token: str) -> tuple[PendingImport, School]:
    pending = db.session.scalar(select(PendingImport).where(
        PendingImport.token == token, PendingImport.kind.in_(KINDS), PendingImport.staff_id == current_user.id,
        PendingImport.created_at > utcnow() - PENDING_FOR))
    if pending is None or pending.school_id is None:
        raise NotFound()
    return pending, current_scope().school_or_404(db.session, pending.school_id)


def _preview(pending: PendingImport, school: School) -> ImportPreview:
    kind = KINDS[pending.kind]
    return preview_import(db.session, school, kind, kind.read(pending.content))


def _render_upload(form: UploadTrackingForm, status: int = 200, file_error: str | None = None):
    if file_error:
        form.upload.errors = [*form.upload.errors, file_error]
    return render_template("tracking/import_upload.html", form=form, max_mb=MAX_BYTES // (1024 * 1024)), status


@bp.route("/import", methods=["GET", "POST"])
@staff_required("admin", "lead")
def upload_tracking():
    form = UploadTrackingForm()
    form.school.choices = [SelectChoice(s.id, f"{s.name} (URN {s.urn})")
                           for s in db.session.scalars(current_scope().schools())]
    if not form.is_submitted():
        form.school.data = request.args.get("school", type=int)
        form.kind.data = request.args.get("kind") if request.args.get("kind") in KINDS else "attainment"
    if not form.validate_on_submit():
        return _render_upload(form, 400 if form.errors else 200)
    school = current_scope().school_or_404(db.session, form.school.data)
    try:
        text = decode(form.upload.data.stream.read(MAX_BYTES + 1))
        KINDS[form.kind.data].read(text)
    except TrackingFileError as exc:
        return _render_upload(form, 400, str(exc))
    db.session.execute(delete(PendingImport).where(
        PendingImport.staff_id == current_user.id, PendingImport.created_at <= utcnow() - PENDING_FOR))
    pending = PendingImport(token=secrets.token_urlsafe(32), staff_id=current_user.id, kind=form.kind.data,
                            school_id=school.id, filename=(form.upload.data.filename or "upload.csv")[-255:],
                            content=text, created_at=utcnow())
    db.session.add(pending)
    db.session.commit()
    return redirect(url_for(".preview_tracking_import", token=pending.token))


def _render_preview(pending, school, preview, status=200, error=None):
    return render_template("tracking/import_preview.html", pending=pending, school=school, preview=preview,
                           form=ConfirmForm(formdata=None, digest=preview.digest()), cancel=ButtonForm(),
                           error=error, expires=pending.created_at + PENDING_FOR,
                           problem_rows=[(p.row, p.upn, None, p.reason) for p in preview.problems]), status


@bp.get("/import/<token>")
@staff_required("admin", "lead")
def preview_tracking_import(token: str):
    pending, school = _pending_or_404(token)
    return _render_preview(pending, school, _preview(pending, school))


@bp.post("/import/<token>/confirm")
@staff_required("admin", "lead")
def confirm_tracking_import(token: str):
    pending, school = _pending_or_404(token)
    preview = _preview(pending, school)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _render_preview(pending, school, preview, 400, "That button had expired, so nothing was "
                               "imported. Check the preview and confirm again.")
    if form.digest.data != preview.digest():
        return _render_preview(pending, school, preview, 409, "The school's records changed after you looked "
                               "at this preview, so nothing was imported. Check it again and confirm.")
    # Claiming the pending row first makes a double click (or a second worker) import once.
    if db.session.execute(delete(PendingImport).where(PendingImport.id == pending.id)).rowcount != 1:
        db.session.rollback()
        raise NotFound()
    result = apply_import(db.session, school, current_user, preview, filename=pending.filename)
    db.session.commit()
    flash(f"Imported {pending.filename}: added {result.added}, changed {result.changed}, unchanged "
          f"{result.unchanged}, refused {result.refused}.", "success")
    return redirect(url_for(".tracking_page", school=school.id))


@bp.post("/import/<token>/cancel")
@staff_required("admin", "lead")
def cancel_tracking_import(token: str):
    pending, school = _pending_or_404(token)
    if not ButtonForm().validate_on_submit():
        return _render_preview(pending, school, _preview(pending, school), 400,
                               "That button had expired. Please try again.")
    db.session.delete(pending)
    db.session.commit()
    flash("The import was cancelled; nothing was imported.", "info")
    return redirect(url_for(".upload_tracking", school=school.id, kind=pending.kind))
