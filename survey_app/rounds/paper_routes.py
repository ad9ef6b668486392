"""Paper answers: typed in by staff, or imported from a CSV (on the web or by the CLI)."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Response as HTTPResponse
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..files.cells import safe_row
from ..jobs import enqueue
from ..models import PendingImport, SurveyRound
from ..models.base import utcnow
from ..pupil.answers import AnswerRefused, answers_of
from ..questionnaires import Questionnaire
from ..security import no_store
from .forms import NO_ANSWER, CancelForm, ConfirmImportForm, UploadForm, field_name, paper_form_class
from .jobs import IMPORT_ANSWERS
from .paper_entry import (
    check_can_enter,
    how_entered,
    questionnaire_for,
    response_of,
    round_pupil_or_404,
    save_paper_answers,
)
from .paper_import import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    UPN_HEADER,
    AnswersCheck,
    ImportFileError,
    check_answers_csv,
    check_digest,
    import_answer_rows,
    read_upload,
    template_upns,
)
from .routes import bp

PENDING_FOR = timedelta(hours=1)
KIND = "answers"














# ----- typing in one pupil's paper answers -------------------------------------------


@bp.route("/<int:round_id>/pupils/<int:pupil_id>/paper", methods=["GET", "POST"])
@staff_required()
def paper_entry(round_id: int, pupil_id: int):
    """One pupil's paper form typed in: a radio group per statement, saved or finished."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    pupil = round_pupil_or_404(db.session, scope, survey_round, pupil_id)
    page = _entry_page(survey_round, pupil)
    q, form_class = page["q"], paper_form_class(page["q"])
    try:
        check_can_enter(survey_round, page["response"], utcnow())
    except AnswerRefused as refused:
        return _page(ENTRY, refused.status if request.method == "POST" else 200, blocked=refused.message, **page)
    if request.method == "GET":
        data = {field_name(i): str(page["stored"].get(s.id, NO_ANSWER)) for i, s in enumerate(q.statements)}
        return _page(ENTRY, 200, form=form_class(formdata=None, data=data), **page)
    form = form_class()
    chosen, problem = _chosen_answers(form, q)
    if problem:
        return _page(ENTRY, 400, form=form, **page, problem=problem)
    try:
        saved = save_paper_answers(db.session, survey_round, pupil, _staff(), chosen, bool(form.finish.data), utcnow())
    except AnswerRefused as refused:
        db.session.rollback()
        return _page(ENTRY, refused.status, form=form, **page, problem=refused.message)
    db.session.commit()
    flash(*_saved_message(pupil, saved))
    return redirect(url_for("rounds.completion", round_id=survey_round.id,
                            _anchor=f"group-{_first_group(scope, survey_round, pupil)}-pupil-{pupil.id}"))


ENTRY = "rounds/paper_entry.html"


def _entry_page(survey_round: SurveyRound, pupil) -> dict:
    """What the entry page shows of the pupil's response so far."""
    response = response_of(db.session, survey_round, pupil.id)
    return {"round": survey_round, "pupil": pupil, "response": response,
            "q": questionnaire_for(survey_round, response),
            "stored": answers_of(db.session, response.id) if response is not None else {},
            "how": how_entered(response.entered_by) if response else None}


def _chosen_answers(form, q: Questionnaire) -> tuple[dict[str, int | None], str | None]:
    """Return {statement id: value, or None to clear} from the posted form, or the problem."""
    known = {field_name(i) for i in range(len(q.statements))} | {"csrf_token", "save", "finish"}
    if any(key not in known for key in request.form):
        return {}, "That statement is not part of this survey. Nothing was saved."
    if not form.validate():
        return {}, "Some answers are not one of the choices. Nothing was saved."
    chosen = {}
    for i, statement in enumerate(q.statements):
        field = form[field_name(i)]
        if field.raw_data:
            chosen[statement.id] = int(field.data) if field.data else None
    return chosen, None


def _saved_message(pupil, saved) -> tuple[str, str]:
    if saved.finished:
        return (f"{pupil.display_name}'s paper answers were saved, and the survey is finished and scored.",
                "success")
    if saved.changed:
        return (f"{pupil.display_name}'s paper answers were saved ({saved.set} answered, "
                f"{saved.cleared} cleared). The survey is still in progress.", "success")
    return f"Nothing was changed for {pupil.display_name}.", "info"


def _first_group(scope, survey_round: SurveyRound, pupil) -> int:
    mine = {g.id for g in pupil.groups}
    return next((g.id for g in scope.groups_of_round(db.session, survey_round) if g.id in mine), 0)


def _staff():
    return current_user._get_current_object()


def _page(template: str, status: int, **context):
    return no_store(make_response(render_template(template, **context), status))


# ----- importing a paper-answers file ------------------------------------------------


def _render_upload(survey_round: SurveyRound, form: UploadForm, status: int, errors=()):
    return _page("rounds/paper_import.html", status, round=survey_round, form=form, errors=list(errors),
                 q=questionnaire_for(survey_round, None), max_mb=MAX_UPLOAD_BYTES // 1024 // 1024)


@bp.route("/<int:round_id>/paper-answers", methods=["GET", "POST"])
@staff_required("admin", "lead")
def paper_import(round_id: int):
    """Upload a paper-answers CSV; a file that can be read is kept for its preview."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    # Requests over MAX_CONTENT_LENGTH (4 MB) never reach here: the 413 page answers them.
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_upload(survey_round, form, 400 if form.is_submitted() else 200)
    upload = form.file.data
    try:
        text = read_upload(upload.read(MAX_UPLOAD_BYTES + 1), upload.filename or "")
        check_answers_csv(db.session, survey_round, text, scope, utcnow(), _max_rows())
    except ImportFileError as refused:
        return _render_upload(survey_round, form, 400, refused.errors)
    # Uploads too old to confirm are cleared away.
    db.session.execute(delete(PendingImport).where(
        PendingImport.staff_id == current_user.id, PendingImport.created_at <= utcnow() - PENDING_FOR))
    filename = Path(upload.filename or "answers.csv").name[-255:]
    pending = PendingImport(token=secrets.token_urlsafe(32), staff_id=current_user.id, kind=KIND,
                            round_id=survey_round.id, filename=filename, content=text, created_at=utcnow())
    db.session.add(pending)
    db.session.commit()
    return redirect(url_for("rounds.paper_import_preview", round_id=round_id, token=pending.token))


def _max_rows() -> int:
    return int(current_app.config.get("PAPER_IMPORT_MAX_ROWS", MAX_ROWS))


def _pending_or_404(survey_round: SurveyRound, token: str) -> PendingImport:
    pending = db.session.scalar(select(PendingImport).where(
        PendingImport.token == token, PendingImport.kind == KIND,
        PendingImport.round_id == survey_round.id, PendingImport.staff_id == current_user.id,
        PendingImport.created_at > utcnow() - PENDING_FOR))
    if pending is None:
        abort(404)
    return pending


def _render_preview(survey_round, pending, check, status=200, error=None):
    return _page("rounds/paper_import_preview.html", status, round=survey_round, pending=pending,
                 check=check, form=ConfirmImportForm(formdata=None, digest=check_digest(check)),
                 cancel=CancelForm(formdata=None), error=error, expires=pending.created_at + PENDING_FOR,
                 q=questionnaire_for(survey_round, None))


def _round_pending_check(round_id: int, token: str):
    """Return the round, its pending upload and that file checked now (or a page to send)."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    pending = _pending_or_404(survey_round, token)
    return survey_round, pending, _check_pending(survey_round, pending, scope)


def _check_pending(survey_round, pending, scope):
    """Return the pending file checked now, or a page for a file that can no longer be read."""
    try:
        return check_answers_csv(db.session, survey_round, pending.content, scope, utcnow(), _max_rows())
    except ImportFileError as refused:
        return _render_upload(survey_round, UploadForm(formdata=None), 400, refused.errors)


@bp.get("/<int:round_id>/paper-answers/<token>")
@staff_required("admin", "lead")
def paper_import_preview(round_id: int, token: str):
    """The preview: how many responses and answers would be imported, and each refused row."""
    survey_round, pending, check = _round_pending_check(round_id, token)
    if not isinstance(check, AnswersCheck):
        return check
    return _render_preview(survey_round, pending, check)


@bp.post("/<int:round_id>/paper-answers/<token>/confirm")
@staff_required("admin", "lead")
def paper_import_confirm(round_id: int, token: str):
    """Import the rows of the preview in one transaction; refused rows are left out."""
    survey_round, pending, check = _round_pending_check(round_id, token)
    if not isinstance(check, AnswersCheck):
        return check
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _render_preview(survey_round, pending, check, 400, "That button had expired, so nothing "
                               "was imported. Check the preview and confirm again.")
    if form.digest.data != check_digest(check):
        return _render_preview(survey_round, pending, check, 409, "Some pupils' answers changed after you "
                               "looked at this preview, so nothing was imported. Check it again and confirm.")
    # Claiming the pending row first makes a double click (or a second worker) import once.
    if db.session.execute(delete(PendingImport).where(PendingImport.id == pending.id)).rowcount != 1:
        db.session.rollback()
        abort(404)
    if len(check.good) + len(check.bad) > current_app.config.get("IMPORT_QUEUE_ROWS", 300):
        return _queue_import(survey_round, pending, check)
    try:
        result = import_answer_rows(db.session, survey_round, check.good, _staff(),
                                          pending.filename, utcnow())
    except AnswerRefused as refused:
        db.session.rollback()
        return _render_preview(survey_round, pending, check, 409, refused.message)
    db.session.commit()
    skipped = f" {len(check.bad)} refused rows were left out." if check.bad else ""
    flash(f"Imported {result.responses} responses ({result.answers} answers) from {pending.filename}; "
          f"each is finished and scored like an online response.{skipped}", "success")
    return redirect(url_for("rounds.completion", round_id=round_id))


def _queue_import(survey_round: SurveyRound, pending: PendingImport, check: AnswersCheck):
    """A large file is imported by the job queue's worker; the lead follows it on the job's page."""
    job = enqueue(IMPORT_ANSWERS, session=db.session, staff=current_user, upload=pending.content.encode("utf-8"),
                  round_id=survey_round.id, filename=pending.filename, digest=check_digest(check))
    return redirect(url_for("jobs.job_page", token=job.token))


@bp.post("/<int:round_id>/paper-answers/<token>/cancel")
@staff_required("admin", "lead")
def paper_import_cancel(round_id: int, token: str):
    """Forget an uploaded file without importing it."""
    survey_round = current_scope().round_or_404(db.session, round_id)
    pending = _pending_or_404(survey_round, token)
    if not CancelForm().validate_on_submit():
        abort(400)
    db.session.delete(pending)
    db.session.commit()
    flash("The import was cancelled; nothing was imported.", "info")
    return redirect(url_for("rounds.paper_import", round_id=round_id))


@bp.get("/<int:round_id>/paper-template.csv")
@staff_required("admin", "lead")
def paper_template(round_id: int):
    """A CSV to fill in: 'UPN' and the statement ids, one row per pupil not yet finished."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    q = questionnaire_for(survey_round, None)
    header = [UPN_HEADER, *(s.id for s in q.statements)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for upn in template_upns(db.session, scope, survey_round):
        writer.writerow(safe_row({UPN_HEADER: upn}))
    resp = HTTPResponse(out.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="paper-answers-round-{survey_round.id}.csv"'
    return no_store(resp)




