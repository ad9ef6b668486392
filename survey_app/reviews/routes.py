"""Staff pages for using results with pupils and families: a round's sharing settings
(this module, with the blueprint), targets (target_routes.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from .forms import AREA_LABELS, OUTCOME_LABELS, SharingForm
from .operations import ReviewError, save_sharing
from .queries import round_staff, sharing_of, targets_of

bp = Blueprint("reviews", __name__, template_folder="templates", url_prefix="/staff")


@bp.app_template_global("targets_of_pupil")
def _targets_of_pupil(pupil_id: int):
    """The learning profile (profiles area) lists a pupil's targets through this global,
    so that area needs no import of this one."""
    return targets_of(db.session, pupil_id)


@bp.app_template_global("pupil_voice_unread")
def _pupil_voice_unread() -> int | None:
    """The staff navigation shows "Pupil voice" to the safeguarding leads that rounds name,
    with how many comments they have not read yet (None: not a safeguarding lead)."""
    from sqlalchemy import func, select

    from ..models.reviews import PupilComment, RoundReviewSettings

    if not current_user.is_authenticated:
        return None
    rounds = select(RoundReviewSettings.round_id).where(RoundReviewSettings.safeguarding_lead_id == current_user.id)
    if db.session.scalar(rounds.limit(1)) is None:
        return None
    return db.session.scalar(select(func.count(PupilComment.id)).where(
        PupilComment.round_id.in_(rounds), PupilComment.read_at.is_(None))) or 0


@bp.app_template_global("target_labels")
def _target_labels():
    """Return ({area: label}, {outcome: label}) for templates of other areas."""
    return AREA_LABELS, OUTCOME_LABELS


@bp.route("/rounds/<int:round_id>/sharing", methods=["GET", "POST"])
@staff_required("admin", "lead")
def round_sharing(round_id: int):
    """Turn "My results" and pupil voice on or off for a round; name the safeguarding lead."""
    survey_round = current_scope().round_or_404(db.session, round_id)
    settings = sharing_of(db.session, survey_round)
    form = SharingForm(obj=None if _posted() else _sharing_data(settings))
    form.safeguarding_lead.choices = [SelectChoice(0, "(nobody named)")] + [
        SelectChoice(s.id, f"{s.name} ({s.role})") for s in round_staff(db.session, survey_round)]
    if form.validate_on_submit():
        try:
            save_sharing(db.session, current_user, survey_round, show_results=form.show_results.data,
                         pupil_voice=form.pupil_voice.data, safeguarding_lead_id=form.safeguarding_lead.data,
                         family_contact=form.family_contact.data or "", now=utcnow())
        except ReviewError as exc:
            form.pupil_voice.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Saved the round's settings for pupils and families.", "success")
            return redirect(url_for("reviews.round_sharing", round_id=survey_round.id))
    status = 400 if form.errors else 200
    return render_template("reviews/sharing.html", round=survey_round, form=form), status


def _posted() -> bool:
    from flask import request

    return request.method == "POST"


def _sharing_data(settings):
    class Data:
        show_results = bool(settings.show_results)
        pupil_voice = bool(settings.pupil_voice)
        safeguarding_lead = settings.safeguarding_lead_id or 0
        family_contact = settings.family_contact or ""

    return Data()
