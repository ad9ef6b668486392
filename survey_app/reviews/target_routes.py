"""Targets and their ladders of steps: a pupil's list (add one, usable on a tablet in the
meeting) and the review of one target (tick steps, record the outcome)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from ..models.reviews import Target
from .forms import AREA_LABELS, OUTCOME_LABELS, ReviewTargetForm, TargetForm
from .operations import ReviewError, add_target, review_target
from .queries import targets_of
from .routes import bp


def _page(pupil, form, status=200):
    return render_template("reviews/targets.html", pupil=pupil, targets=targets_of(db.session, pupil.id),
                           form=form, areas=AREA_LABELS, outcomes=OUTCOME_LABELS), status


@bp.get("/pupils/<int:pupil_id>/targets")
@staff_required()
def pupil_targets(pupil_id: int):
    """A pupil's targets, open ones first, and the form to add one."""
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    return _page(pupil, TargetForm(agreed_tutor=True))


@bp.post("/pupils/<int:pupil_id>/targets")
@staff_required()
def add_pupil_target(pupil_id: int):
    """Add a target agreed in a meeting (or afterwards, from the sheet)."""
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    form = TargetForm()
    if not form.validate_on_submit():
        return _page(pupil, form, 400)
    try:
        add_target(db.session, current_user, pupil, area=form.area.data, detail=form.detail.data,
                   words=form.words.data, agreed=(form.agreed_pupil.data, form.agreed_tutor.data,
                                                  form.agreed_parent.data),
                   steps=form.steps(), review_on=form.review_on.data, now=utcnow())
    except ReviewError as exc:
        db.session.rollback()
        form.words.errors.append(str(exc))
        return _page(pupil, form, 400)
    db.session.commit()
    flash("Target saved.", "success")
    return redirect(url_for("reviews.pupil_targets", pupil_id=pupil.id))


def _target_or_404(target_id: int) -> Target:
    target = db.session.get(Target, target_id)
    if target is None:
        abort(404)
    current_scope().pupil_or_404(db.session, target.pupil_id)
    return target


@bp.post("/targets/<int:target_id>/review")
@staff_required()
def review_pupil_target(target_id: int):
    """Tick the steps done and record the outcome of one target."""
    target = _target_or_404(target_id)
    form = ReviewTargetForm()
    try:
        done = {int(v) for v in request.form.getlist("done")}
    except ValueError:
        abort(400, "That step is not part of this target.")
    if not form.validate_on_submit():
        abort(400, "The review could not be saved; reload the page and try again.")
    try:
        review_target(db.session, current_user, target, done_step_ids=done, outcome=form.outcome.data,
                      today=utcnow().date(), now=utcnow())
    except ReviewError as exc:
        db.session.rollback()
        abort(400, str(exc))
    db.session.commit()
    flash("Review saved.", "success")
    return redirect(url_for("reviews.pupil_targets", pupil_id=target.pupil_id) + f"#target-{target.id}")
