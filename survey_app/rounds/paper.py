"""Paper answers: typed in by staff, or imported from a CSV (on the web or by the CLI)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Response as HTTPResponse
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.cli import with_appcontext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import delete, select
from wtforms import HiddenField, RadioField, SelectChoice, SubmitField
from wtforms.validators import Optional

from ..access import current_scope, staff_required
from ..csv_safety import safe_row
from ..db import db, utcnow
from ..models import PendingImport, SurveyRound
from ..questionnaires import Questionnaire
from ..security import no_store
from ..services import paper_answers as paper
from ..services.responses import AnswerRefused, answers_of
from ..services.rounds import RoundNotFound, find_round
from . import bp

PENDING_FOR = timedelta(hours=1)
KIND = "answers"
NO_ANSWER = ""


# ----- forms -------------------------------------------------------------------------

_form_classes: dict[str, type[FlaskForm]] = {}


def field_name(index: int) -> str:
    """Return the form field name of the statement at `index` (0-based), as the pupil form does."""
    return f"q{index + 1}"


def paper_form_class(q: Questionnaire) -> type[FlaskForm]:
    """Return a FlaskForm class with one radio group per statement of `q` (cached).

    Each group offers the scale and "No answer"; every field is optional.
    """
    cls = _form_classes.get(q.content_hash)
    if cls is not None:
        return cls
    choices = [SelectChoice(str(o.value), o.label) for o in q.scale] + [SelectChoice(NO_ANSWER, "No answer")]
    attrs: dict = {
        field_name(i): RadioField(s.text, choices=choices, validators=[Optional()])
        for i, s in enumerate(q.statements)
    }
    attrs["save"] = SubmitField("Save")
    attrs["finish"] = SubmitField("Save and mark finished")
    cls = type(f"PaperForm_{q.key}", (FlaskForm,), attrs)
    _form_classes[q.content_hash] = cls
    return cls


class UploadForm(FlaskForm):
    file = FileField("Paper-answers file (CSV)", validators=[FileRequired("Choose a CSV file to upload.")])
    submit = SubmitField("Upload and check")


class ConfirmImportForm(FlaskForm):
    digest = HiddenField()
    submit = SubmitField("Import")


class ButtonForm(FlaskForm):
    submit = SubmitField("Cancel")


# ----- typing in one pupil's paper answers -------------------------------------------


@bp.route("/<int:round_id>/pupils/<int:pupil_id>/paper", methods=["GET", "POST"])
@staff_required()
def paper_entry(round_id: int, pupil_id: int):
    """One pupil's paper form typed in: a radio group per statement, saved or finished."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    pupil = paper.round_pupil_or_404(db.session, scope, survey_round, pupil_id)
    response = paper.response_of(db.session, survey_round, pupil.id)
    q = paper.questionnaire_for(survey_round, response)
    stored = answers_of(db.session, response.id) if response is not None else {}
    form_class = paper_form_class(q)
    page = {"round": survey_round, "pupil": pupil, "response": response, "q": q, "stored": stored,
            "how": paper.how_entered(response.entered_by) if response else None}
    try:
        paper.check_can_enter(survey_round, response, utcnow())
    except AnswerRefused as refused:
        status = refused.status if request.method == "POST" else 200
        return _page("rounds/paper_entry.html", status, blocked=refused.message, **page)
    if request.method == "GET":
        data = {field_name(i): str(stored.get(s.id, NO_ANSWER)) for i, s in enumerate(q.statements)}
        return _page("rounds/paper_entry.html", 200, form=form_class(formdata=None, data=data), **page)

    form = form_class()
    known = {field_name(i) for i in range(len(q.statements))} | {"csrf_token", "save", "finish"}
    if any(key not in known for key in request.form):
        return _page("rounds/paper_entry.html", 400, form=form, **page,
                     problem="That statement is not part of this survey. Nothing was saved.")
    if not form.validate():
        return _page("rounds/paper_entry.html", 400, form=form, **page,
                     problem="Some answers are not one of the choices. Nothing was saved.")
    chosen = {}
    for i, statement in enumerate(q.statements):
        field = form[field_name(i)]
        if field.raw_data:
            chosen[statement.id] = int(field.data) if field.data else None
    try:
        saved = paper.save_paper_answers(db.session, survey_round, pupil, _staff(), chosen,
                                         bool(form.finish.data), utcnow())
    except AnswerRefused as refused:
        db.session.rollback()
        return _page("rounds/paper_entry.html", refused.status, form=form, **page, problem=refused.message)
    db.session.commit()
    if saved.finished:
        flash(f"{pupil.display_name}'s paper answers were saved, and the survey is finished and scored.",
              "success")
    elif saved.changed:
        flash(f"{pupil.display_name}'s paper answers were saved ({saved.set} answered, "
              f"{saved.cleared} cleared). The survey is still in progress.", "success")
    else:
        flash(f"Nothing was changed for {pupil.display_name}.", "info")
    return redirect(url_for("rounds.completion", round_id=survey_round.id,
                            _anchor=f"group-{_first_group(scope, survey_round, pupil)}-pupil-{pupil.id}"))


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
                 q=paper.questionnaire_for(survey_round, None), max_mb=paper.MAX_UPLOAD_BYTES // 1024 // 1024)


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
        text = paper.read_upload(upload.read(paper.MAX_UPLOAD_BYTES + 1), upload.filename or "")
        paper.check_answers_csv(db.session, survey_round, text, scope, utcnow(), _max_rows())
    except paper.ImportFileError as refused:
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
    return int(current_app.config.get("PAPER_IMPORT_MAX_ROWS", paper.MAX_ROWS))


def _pending_or_404(survey_round: SurveyRound, token: str) -> PendingImport:
    pending = db.session.scalar(select(PendingImport).where(
        PendingImport.token == token, PendingImport.kind == KIND,
        PendingImport.round_id == survey_round.id, PendingImport.staff_id == current_user.id,
        PendingImport.created_at > utcnow() - PENDING_FOR))
    if pending is None:
        abort(404)
    return pending


def _digest(check: paper.AnswersCheck) -> str:
    """Return a fingerprint of what a confirmation would write (it must match the preview's).

    Online answers given meanwhile do not count: the import merges with them either way.
    """
    data = [[r.row, r.pupil_id, sorted(r.answers.items())] for r in check.good]
    data.append([[b.row, list(b.problems)] for b in check.bad])
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def _render_preview(survey_round, pending, check, status=200, error=None):
    return _page("rounds/paper_import_preview.html", status, round=survey_round, pending=pending,
                 check=check, form=ConfirmImportForm(formdata=None, digest=_digest(check)),
                 cancel=ButtonForm(formdata=None), error=error, expires=pending.created_at + PENDING_FOR,
                 q=paper.questionnaire_for(survey_round, None))


def _round_pending_check(round_id: int, token: str):
    """Return the round, its pending upload and that file checked now (or a page to send)."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    pending = _pending_or_404(survey_round, token)
    return survey_round, pending, _check_pending(survey_round, pending, scope)


def _check_pending(survey_round, pending, scope):
    """Return the pending file checked now, or a page for a file that can no longer be read."""
    try:
        return paper.check_answers_csv(db.session, survey_round, pending.content, scope, utcnow(), _max_rows())
    except paper.ImportFileError as refused:
        return _render_upload(survey_round, UploadForm(formdata=None), 400, refused.errors)


@bp.get("/<int:round_id>/paper-answers/<token>")
@staff_required("admin", "lead")
def paper_import_preview(round_id: int, token: str):
    """The preview: how many responses and answers would be imported, and each refused row."""
    survey_round, pending, check = _round_pending_check(round_id, token)
    if not isinstance(check, paper.AnswersCheck):
        return check
    return _render_preview(survey_round, pending, check)


@bp.post("/<int:round_id>/paper-answers/<token>/confirm")
@staff_required("admin", "lead")
def paper_import_confirm(round_id: int, token: str):
    """Import the rows of the preview in one transaction; refused rows are left out."""
    survey_round, pending, check = _round_pending_check(round_id, token)
    if not isinstance(check, paper.AnswersCheck):
        return check
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return _render_preview(survey_round, pending, check, 400, "That button had expired, so nothing "
                               "was imported. Check the preview and confirm again.")
    if form.digest.data != _digest(check):
        return _render_preview(survey_round, pending, check, 409, "Some pupils' answers changed after you "
                               "looked at this preview, so nothing was imported. Check it again and confirm.")
    # Claiming the pending row first makes a double click (or a second worker) import once.
    if db.session.execute(delete(PendingImport).where(PendingImport.id == pending.id)).rowcount != 1:
        db.session.rollback()
        abort(404)
    try:
        result = paper.import_answer_rows(db.session, survey_round, check.good, _staff(),
                                          pending.filename, utcnow())
    except AnswerRefused as refused:
        db.session.rollback()
        return _render_preview(survey_round, pending, check, 409, refused.message)
    db.session.commit()
    skipped = f" {len(check.bad)} refused rows were left out." if check.bad else ""
    flash(f"Imported {result.responses} responses ({result.answers} answers) from {pending.filename}; "
          f"each is finished and scored like an online response.{skipped}", "success")
    return redirect(url_for("rounds.completion", round_id=round_id))


@bp.post("/<int:round_id>/paper-answers/<token>/cancel")
@staff_required("admin", "lead")
def paper_import_cancel(round_id: int, token: str):
    """Forget an uploaded file without importing it."""
    survey_round = current_scope().round_or_404(db.session, round_id)
    pending = _pending_or_404(survey_round, token)
    if not ButtonForm().validate_on_submit():
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
    q = paper.questionnaire_for(survey_round, None)
    header = [paper.UPN_HEADER, *(s.id for s in q.statements)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for upn in paper.template_upns(db.session, scope, survey_round):
        writer.writerow(safe_row({paper.UPN_HEADER: upn}))
    resp = HTTPResponse(out.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="paper-answers-round-{survey_round.id}.csv"'
    return no_store(resp)


# ----- the CLI ---------------------------------------------------------------------


@click.command("import-answers")
@click.option("--round", "round_ident", required=True, metavar="ROUND", help="The round's id or exact name.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_answers(round_ident: str, file: Path, dry_run: bool) -> None:
    """Import paper answers from a CSV (UPN, then statement ids); imported responses are finished and
    scored. Exit 1, writing nothing, when the file or any row is refused."""
    try:
        survey_round = find_round(db.session, round_ident)
    except RoundNotFound as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Round #{survey_round.id} '{survey_round.name}' ({survey_round.questionnaire.label}): "
               f"reading {file}")
    now = utcnow()
    try:
        text = paper.read_upload(file.read_bytes()[:paper.MAX_UPLOAD_BYTES + 1], file.name)
        check = paper.check_answers_csv(db.session, survey_round, text, None, now, _max_rows())
    except paper.ImportFileError as refused:
        for message in refused.errors:
            click.echo(f"{file}: {message}", err=True)
        sys.exit(1)
    click.echo(f"Checked {len(check.good) + len(check.bad)} rows: {len(check.good)} can be imported "
               f"({check.answers} answers; {check.continued} continue a response in progress), "
               f"{len(check.bad)} refused.")
    for bad in check.bad:
        for problem in bad.problems:
            click.echo(f"{file}: row {bad.row}{f' ({bad.upn})' if bad.upn else ''}: {problem}", err=True)
    if check.bad:
        click.echo(f"{len(check.bad)} rows refused: nothing was imported. Fix them and run again.", err=True)
        sys.exit(1)
    if dry_run:
        click.echo(f"Dry run: {len(check.good)} responses would be imported. Nothing was written.")
        return
    try:
        result = paper.import_answer_rows(
            db.session, survey_round, check.good, None, file.name, now,
            progress=lambda done, total: click.echo(f"Imported {done} of {total} responses…"))
    except AnswerRefused as refused:
        db.session.rollback()
        click.echo(refused.message, err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Imported {result.responses} responses ({result.created} new, "
               f"{result.responses - result.created} continued; {result.answers} answers). "
               "Each is finished and scored like an online response.")
