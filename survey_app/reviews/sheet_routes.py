"""Conversation sheets and family summaries: one pupil's as a page or a PDF, and a group's
as one PDF (a batch of every pupil in it). A family summary can be asked for in a language
the pupil's latest round offers (`?lang=CODE`); the staff pages around it stay English."""

from __future__ import annotations

import re

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..jobs import enqueue
from ..models.base import utcnow
from ..profiles.queries import record_view
from ..questionnaires.translations import SOURCE_LANGUAGE
from ..security import no_store
from .family_words import english_name, family_words, in_language, page_language
from .jobs import KINDS, PACK, pack_languages
from .pdf import family_pdf, pdf_can_draw, sheets_pdf
from .queries import group_pupils
from .routes import bp
from .sheets import FamilySummary, LanguageNotOffered, conversation_sheet, family_summary
from .wording import AREA_WORDS, OUTCOME_WORDS, attendance_words, change_words, result_words


def _threshold() -> int:
    return int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))


def _viewed(pupil_id: int, what: str):
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    record_view(db.session, current_user.id, pupil.id, what, utcnow())
    db.session.commit()
    return current_scope().pupil_or_404(db.session, pupil_id)


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "review"
    response.headers.set("Content-Disposition", "attachment", filename=f"{safe}.pdf")
    return no_store(response)


@bp.get("/pupils/<int:pupil_id>/sheet")
@staff_required()
def sheet(pupil_id: int):
    """The tutor's conversation sheet for one pupil (prints on A4)."""
    pupil = _viewed(pupil_id, "viewed conversation sheet")
    data = conversation_sheet(db.session, pupil, utcnow(), current_scope(), _threshold())
    html = render_template("reviews/sheet.html", sheet=data, areas=AREA_WORDS, outcomes=OUTCOME_WORDS,
                           change_words=change_words,
                           attendance_words=attendance_words, result_words=result_words)
    db.session.commit()
    return html


@bp.get("/pupils/<int:pupil_id>/sheet.pdf")
@staff_required()
def sheet_pdf(pupil_id: int):
    """The conversation sheet as a PDF."""
    pupil = _viewed(pupil_id, "printed conversation sheet")
    data = sheets_pdf([conversation_sheet(db.session, pupil, utcnow(), current_scope(), _threshold())])
    db.session.commit()
    return _pdf(data, f"sheet-{pupil.display_name}")


def _family_summary(pupil_id: int) -> FamilySummary:
    """The pupil's family summary in the `?lang=` asked for (a scope check first: 404);
    a language the pupil's latest round does not offer is refused (400)."""
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    code = request.args.get("lang", SOURCE_LANGUAGE)
    try:
        return family_summary(db.session, pupil, utcnow(), code, current_app.config["QUESTIONNAIRE_DIR"])
    except LanguageNotOffered:
        abort(400, "The family summary is not available in that language for this pupil: their "
                   "latest round does not offer it. Choose a language on the summary's page.")


@bp.get("/pupils/<int:pupil_id>/family-summary")
@staff_required()
def family(pupil_id: int):
    """The one-page summary for the pupil's family (prints on A4), in English or a language
    the pupil's latest round offers."""
    summary = _family_summary(pupil_id)
    _viewed(pupil_id, "viewed family summary")
    language = page_language(summary)
    with in_language(language):
        return render_template("reviews/family.html", summary=summary, words=family_words(summary),
                               language=language, english_name=english_name,
                               pdf_ok=pdf_can_draw(summary.language),
                               page_lang=language.page, page_dir=language.page_direction)


@bp.get("/pupils/<int:pupil_id>/family-summary.pdf")
@staff_required()
def family_summary_pdf(pupil_id: int):
    """The family summary as a PDF; in a script the PDF cannot draw, a page that says to
    print the summary's page from the browser instead (422)."""
    summary = _family_summary(pupil_id)
    if not pdf_can_draw(summary.language):
        return render_template("reviews/family_no_pdf.html", summary=summary,
                               language_name=english_name(summary.language)), 422
    pupil = _viewed(pupil_id, "printed family summary")
    return _pdf(family_pdf([summary]), f"family-{pupil.display_name}")


@bp.post("/groups/<int:group_id>/review-pack/<kind>")
@staff_required()
def group_pack(group_id: int, kind: str):
    """Queue a group's review pack (kind "sheet" or "family") for the worker; its page shows
    the progress and offers the PDF when it is made. Family summaries can be asked for in
    a language the PDF draws (`lang`; each pupil whose round does not offer it: English)."""
    if kind not in KINDS:
        abort(404)
    group = current_scope().group_or_404(db.session, group_id)
    code = request.form.get("lang", SOURCE_LANGUAGE) if kind == "family" else SOURCE_LANGUAGE
    if code not in pack_languages(db.session, group, current_app.config["QUESTIONNAIRE_DIR"]):
        abort(400, "The family summaries cannot be made in that language for this group. "
                   "Choose one of the languages the group's page offers.")
    params = {"lang": code} if code != SOURCE_LANGUAGE else {}
    job = enqueue(PACK, session=db.session, staff=current_user, group_id=group.id, kind=kind, **params)
    return redirect(url_for("jobs.job_page", token=job.token))


@bp.get("/groups/<int:group_id>/review")
@staff_required()
def group_review(group_id: int):
    """A group's pupils with their sheets, family summaries and targets, and the batch PDFs."""
    scope = current_scope()
    group = scope.group_or_404(db.session, group_id)
    return render_template("reviews/group.html", group=group, pupils=group_pupils(db.session, group, scope),
                           languages=pack_languages(db.session, group, current_app.config["QUESTIONNAIRE_DIR"]))


@bp.get("/rounds/<int:round_id>/family-letter.pdf")
@staff_required("admin", "lead")
def round_family_letter(round_id: int):
    """The round's letter to families (one page per school taking part), as a PDF."""
    from .letters import letters_for, letters_pdf

    survey_round = current_scope().round_or_404(db.session, round_id)
    letters = letters_for(db.session, survey_round, int(current_app.config.get("RETENTION_DAYS", 730)))
    return _pdf(letters_pdf(letters), f"letter-{survey_round.name}")
