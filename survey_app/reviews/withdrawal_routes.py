"""Recording a family's withdrawal of their child from the survey (leads and admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from .forms import WithdrawForm
from .operations import ReviewError
from .routes import bp
from .withdrawal import withdraw_pupil, withdrawal_of


@bp.route("/pupils/<int:pupil_id>/withdraw", methods=["GET", "POST"])
@staff_required("admin", "lead")
def withdraw(pupil_id: int):
    """Show the pupil's withdrawal, or record one: no new codes, left out of later rounds."""
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    existing = withdrawal_of(db.session, pupil.id)
    form = WithdrawForm()
    if existing is None and form.validate_on_submit():
        try:
            counts = withdraw_pupil(db.session, current_user, pupil, answers=form.answers.data,
                                    note=form.note.data or "", now=utcnow())
        except ReviewError as exc:
            db.session.rollback()
            form.answers.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Withdrawal recorded: {counts['codes']} code(s) withdrawn, "
                  f"{counts['erased_responses']} earlier response(s) erased.", "success")
            return redirect(url_for("reviews.withdraw", pupil_id=pupil.id))
    status = 400 if form.errors else 200
    return render_template("reviews/withdraw.html", pupil=pupil, existing=existing, form=form), status
