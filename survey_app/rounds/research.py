"""The pseudonymised research export of one or more rounds, for leads and administrators.

A page says what the file holds and lets the lead add other rounds (so an evaluator can
pair a pupil's before and after); the download is a POST, checked against the scope and
the suppression threshold, and recorded in the audit log.
"""

from __future__ import annotations

from flask import Response, current_app, render_template, stream_with_context
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.utils import secure_filename
from wtforms import SelectChoice, SelectMultipleField, SubmitField, widgets

from ..accounts.access import current_scope, staff_required
from ..audit.log import record_export
from ..data import research as rx
from ..db import db
from ..models.base import utcnow
from ..security import no_store
from .routes import bp


class ResearchExportForm(FlaskForm):
    rounds = SelectMultipleField(
        "Rounds to include", coerce=int, widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        invalid_choice_message="Choose rounds from the list.")
    submit = SubmitField("Download the research export (CSV)")


def _threshold() -> int:
    return int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))


@bp.route("/<int:round_id>/research-export", methods=["GET", "POST"])
@staff_required("admin", "lead")
def research_export(round_id: int):
    """What the research export of this round holds, and the download (POST)."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    visible = db.session.scalars(scope.rounds()).all()
    form = ResearchExportForm()
    form.rounds.choices = [SelectChoice(r.id, f"{r.name} ({r.opens_at:%b %Y})") for r in visible]
    if not form.is_submitted():
        form.rounds.data = [survey_round.id]
    pupils = rx.research_pupil_condition(scope)
    error = None
    if form.validate_on_submit():
        chosen = [r for r in visible if r.id in set(form.rounds.data or [])]
        try:
            export = rx.plan_export(db.session, chosen, pupils, _threshold())
        except rx.ResearchExportError as exc:
            error = str(exc)
        else:
            return _download(survey_round, chosen, export)
    responses, pupil_count = rx.exportable_counts(db.session, [survey_round.id], pupils)
    return render_template(
        "rounds/research_export.html", round=survey_round, form=form, error=error, responses=responses,
        pupils=pupil_count, threshold=_threshold(),
        partnership_lead=not scope.is_admin and current_user.partnership_id is not None,
    ), 400 if (form.errors or error) else 200


def _download(survey_round, chosen, export) -> Response:
    """The export as a streamed CSV, recorded in the audit log first."""
    record_export(db.session, current_user.id, "research export (CSV)", rounds=[r.id for r in chosen],
                  pupils=export.pupils, responses=len(export.responses))
    db.session.commit()
    key = rx.pseudonym_key(current_app.config)
    zone = current_app.config.get("DEFAULT_TIMEZONE", "Europe/London")
    stem = secure_filename(survey_round.name.lower().replace(" ", "-"))[:50] or "round"
    response = Response(stream_with_context(rx.export_csv(db.session, export, key, zone)), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=f"research-{stem}-{utcnow():%Y%m%d}.csv")
    return no_store(response)
