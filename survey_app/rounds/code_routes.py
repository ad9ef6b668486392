"""A round's access codes: the list, printable slips (page and PDF), a CSV, and reissuing
a lost code. Every copy taken away is recorded in the audit log."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from ..accounts.access import current_scope, staff_required
from ..audit.log import record_export
from ..db import db
from ..models import AccessCode, SurveyRound
from ..models.base import utcnow
from ..pupil.codes import format_code
from ..security import no_store
from . import slips as slip_service
from .forms import ActionForm
from .routes import bp


def _staff():
    return current_user._get_current_object()



def _code_selection(round_id: int):
    """Return (round, rows, filters) for the codes this user may print, from the query string."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    group = None
    if request.args.get("group"):
        group = request.args.get("group", type=int)
        if group not in {g.id for g in scope.groups_of_round(db.session, survey_round)}:
            abort(404)
    pupil = None
    if request.args.get("pupil"):
        pupil = request.args.get("pupil", type=int)
        if pupil is None:
            abort(404)
    unused = request.args.get("unused") == "1"
    rows = slip_service.code_rows(db.session, survey_round, scope, group_id=group,
                                  unused_only=unused, pupil_id=pupil)
    filters = {k: v for k, v in (("group", group), ("unused", "1" if unused else None),
                                 ("pupil", pupil)) if v}
    return survey_round, rows, filters


def _record_codes_export(survey_round: SurveyRound, what: str, rows, filters: dict) -> None:
    """Note in the audit log that someone took a round's codes away (a page or a file)."""
    # One pupil's slip is linked to the pupil (only when found: an unknown id has no row).
    detail = {k: v for k, v in filters.items() if k != "pupil"}
    record_export(db.session, _staff().id, what, pupil_id=filters.get("pupil") if rows else None, round=survey_round.id,
                  codes=len(rows), **detail)
    db.session.commit()


def _download_name(survey_round: SurveyRound, extension: str) -> str:
    stem = secure_filename(survey_round.name.lower().replace(" ", "-")) or "round"
    return f"codes-{survey_round.id}-{stem[:60]}.{extension}"


@bp.get("/<int:round_id>/codes")
@staff_required()
def codes(round_id: int):
    survey_round, rows, filters = _code_selection(round_id)
    groups = current_scope().groups_of_round(db.session, survey_round)
    return no_store(Response(render_template(
        "rounds/codes.html", round=survey_round, rows=rows, filters=filters, groups=groups)))


@bp.get("/<int:round_id>/slips")
@staff_required()
def slips(round_id: int):
    survey_round, rows, filters = _code_selection(round_id)
    _record_codes_export(survey_round, "access-code slips (print page)", rows, filters)
    address = slip_service.display_address(url_for("pupil.start", _external=True))
    return no_store(Response(render_template(
        "rounds/slips.html", round=survey_round, sheets=slip_service.sheets(rows), count=len(rows),
        address=address, filters=filters,
        groups=current_scope().groups_of_round(db.session, survey_round),
        columns=slip_service.COLUMNS,
    )))


@bp.get("/<int:round_id>/slips.pdf")
@staff_required()
def slips_pdf(round_id: int):
    survey_round, rows, filters = _code_selection(round_id)
    _record_codes_export(survey_round, "access-code slips (PDF)", rows, filters)
    address = slip_service.display_address(url_for("pupil.start", _external=True))
    pdf = slip_service.slips_pdf(slip_service.slips_of(rows), address, title=survey_round.name)
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment",
                         filename=_download_name(survey_round, "pdf"))
    return no_store(response)


@bp.get("/<int:round_id>/codes.csv")
@staff_required()
def codes_csv(round_id: int):
    survey_round, rows, filters = _code_selection(round_id)
    _record_codes_export(survey_round, "access codes (CSV)", rows, filters)
    # The byte-order mark makes Excel read the names as UTF-8.
    response = Response("\ufeff" + slip_service.codes_csv(rows), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment",
                         filename=_download_name(survey_round, "csv"))
    return no_store(response)


@bp.route("/<int:round_id>/codes/<int:pupil_id>/reissue", methods=["GET", "POST"])
@staff_required()
def reissue_code(round_id: int, pupil_id: int):
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    rows = slip_service.code_rows(db.session, survey_round, scope, pupil_id=pupil_id)
    if not rows:
        abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        access = db.session.scalar(select(AccessCode).where(
            AccessCode.round_id == survey_round.id, AccessCode.pupil_id == pupil_id))
        slip_service.reissue_code(db.session, _staff(), access, utcnow())
        db.session.commit()
        flash(f"{rows[0].name} has a new code: {format_code(access.code)}. "
              "The old code no longer works.", "success")
        return redirect(url_for(".codes", round_id=survey_round.id, pupil=pupil_id))
    return no_store(Response(render_template(
        "rounds/reissue.html", round=survey_round, row=rows[0], form=form)))



