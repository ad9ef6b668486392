"""Pupil voice for the designated safeguarding lead, and the school's list of words."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from .forms import WordsForm
from .operations import ReviewError
from .routes import bp
from .voice import comments_for_lead, mark_read, set_words, words_of


@bp.get("/pupil-voice")
@staff_required()
def pupil_voice():
    """Every comment of the rounds that name the signed-in member of staff as their
    designated safeguarding lead; nobody else sees them."""
    comments = comments_for_lead(db.session, current_user)
    html = render_template("reviews/voice.html", comments=comments, today=utcnow().date())
    mark_read(comments, utcnow())
    db.session.commit()
    return html


@bp.route("/schools/<int:school_id>/safeguarding-words", methods=["GET", "POST"])
@staff_required("admin", "lead")
def safeguarding_words(school_id: int):
    """The school's list of words highlighted to its safeguarding leads."""
    school = current_scope().school_or_404(db.session, school_id)
    form = WordsForm()
    if form.validate_on_submit():
        try:
            words = set_words(db.session, current_user, school, form.words.data or "")
        except ReviewError as exc:
            db.session.rollback()
            form.words.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Saved {len(words)} words and phrases.", "success")
            return redirect(url_for("reviews.safeguarding_words", school_id=school.id))
    elif not form.is_submitted():
        form.words.data = "\n".join(words_of(db.session, school.id))
    return render_template("reviews/words.html", school=school, form=form), 400 if form.errors else 200
