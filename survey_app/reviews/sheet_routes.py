"""Conversation sheets and family summaries: one pupil's as a page or a PDF, and a group's
as one PDF (a batch of every pupil in it)."""

from __future__ import annotations

import re

from flask import Response, abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..jobs import enqueue
from ..models.base import utcnow
from ..profiles.queries import record_view
from ..security import no_store
from .jobs import KINDS, PACK
from .pdf import family_pdf, sheets_pdf
from .queries import group_pupils
from .routes import bp
from .sheets import conversation_sheet, family_summary
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


@bp.get("/pupils/<int:pupil_id>/family-summary")
@staff_required()
def family(pupil_id: int):
    """The one-page summary for the pupil's family (prints on A4)."""
    pupil = _viewed(pupil_id, "viewed family summary")
    return render_template("reviews/family.html", summary=family_summary(db.session, pupil, utcnow()))


@bp.get("/pupils/<int:pupil_id>/family-summary.pdf")
@staff_required()
def family_summary_pdf(pupil_id: int):
    """The family summary as a PDF."""
    pupil = _viewed(pupil_id, "printed family summary")
    return _pdf(family_pdf([family_summary(db.session, pupil, utcnow())]), f"family-{pupil.display_name}")


@bp.post("/groups/<int:group_id>/review-pack/<kind>")
@staff_required()
def group_pack(group_id: int, kind: str):
    """Queue a group's review pack (kind "sheet" or "family") for the worker; its page shows
    the progress and offers the PDF when it is made."""
    if kind not in KINDS:
        abort(404)
    group = current_scope().group_or_404(db.session, group_id)
    job = enqueue(PACK, session=db.session, staff=current_user, group_id=group.id, kind=kind)
    return redirect(url_for("jobs.job_page", token=job.token))


@bp.get("/groups/<int:group_id>/review")
@staff_required()
def group_review(group_id: int):
    """A group's pupils with their sheets, family summaries and targets, and the batch PDFs."""
    scope = current_scope()
    group = scope.group_or_404(db.session, group_id)
    return render_template("reviews/group.html", group=group, pupils=group_pupils(db.session, group, scope))


@bp.get("/rounds/<int:round_id>/family-letter.pdf")
@staff_required("admin", "lead")
def round_family_letter(round_id: int):
    """The round's letter to families (one page per school taking part), as a PDF."""
    from .letters import letters_for, letters_pdf

    survey_round = current_scope().round_or_404(db.session, round_id)
    letters = letters_for(db.session, survey_round, int(current_app.config.get("RETENTION_DAYS", 730)))
    return _pdf(letters_pdf(letters), f"letter-{survey_round.name}")
