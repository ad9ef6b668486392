"""The languages page of a round: which translations its pupils may choose."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..questionnaires.translations import language_label
from .forms import LanguagesForm
from .languages import available_translations, set_round_languages
from .operations import RoundError
from .routes import bp


@bp.route("/<int:round_id>/languages", methods=["GET", "POST"])
@staff_required("admin", "lead")
def round_languages(round_id: int):
    survey_round = current_scope().round_or_404(db.session, round_id)
    available = available_translations(current_app.config["QUESTIONNAIRE_DIR"], survey_round)
    form = LanguagesForm(data={"languages": survey_round.languages or [],
                               "allow_drafts": survey_round.allow_draft_languages})
    form.languages.choices = [SelectChoice(code, tr.language_name) for code, tr in available.items()]
    if request.method == "POST" and form.validate_on_submit():
        try:
            changes = set_round_languages(db.session, current_user._get_current_object(), survey_round,
                                          available, form.languages.data or [], bool(form.allow_drafts.data))
        except RoundError as exc:
            db.session.rollback()
            form.languages.errors = [*form.languages.errors, *exc.problems.values()]
        else:
            db.session.commit()
            flash("Languages saved." if changes else "Nothing was changed.", "success" if changes else "info")
            return redirect(url_for(".show_round", round_id=survey_round.id))
    status = 400 if request.method == "POST" else 200
    return render_template("rounds/languages.html", form=form, round=survey_round,
                           available=available, english_name=language_label), status
