"""Heatmap, learning profile, print view and support log routes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import current_scope, staff_required
from ..authority.norms import local_standing
from ..charts.profile import profile_figure, timeline_figure
from ..db import db
from ..models import ChangeLog, SupportEntry
from ..models.base import utcnow
from .chart_data import profile_chart_data, timeline_chart_data
from .forms import SupportForm
from .heatmap import SORT_KEYS, build_heatmap
from .operations import SupportError, add_entry, edit_entry
from .queries import learning_profile, pupil_interventions, record_view

bp = Blueprint("profiles", __name__, template_folder="templates", url_prefix="/staff")



def _render_and_keep_statistics(template: str, **context) -> str:
    """Render, then commit: round statistics refreshed while building the page are kept
    for the next request (committing before rendering would expire what the page reads)."""
    html = render_template(template, **context)
    db.session.commit()
    return html


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        abort(400, f"The '{name}' setting is not valid.")
    return int(raw)


@bp.get("/groups/<int:group_id>/heatmap")
@staff_required()
def heatmap(group_id: int):
    """The group's pupils by the nine factors for a round, or the change since another."""
    scope = current_scope()
    group = scope.group_or_404(db.session, group_id)
    round_id, compare_id = _int_arg("round"), _int_arg("compare")
    sort = request.args.get("sort", "name")
    order = request.args.get("order", "asc")
    if order not in ("asc", "desc"):
        abort(400, "The order must be lowest or highest first.")
    hm = build_heatmap(db.session, scope, group, round_id, compare_id, sort, order == "desc", utcnow())
    known = {r.id for r in hm.rounds}
    if (round_id and round_id not in known) or (compare_id and compare_id not in known):
        abort(400, "That round is not one of this group's rounds.")
    factor_keys = {f.key for f in hm.questionnaire.factors} if hm.questionnaire else set()
    if sort not in SORT_KEYS and sort not in factor_keys:
        abort(400, "The heatmap cannot be sorted like that.")
    return _render_and_keep_statistics("profiles/heatmap.html", hm=hm, sort=sort, order=order)


def _viewed_pupil(pupil_id: int, action: str):
    """Return the pupil after recording the view (committed first, so the objects the page
    reads afterwards stay loaded instead of being expired by the commit)."""
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    record_view(db.session, current_user.id, pupil.id, action, utcnow())
    db.session.commit()
    return current_scope().pupil_or_404(db.session, pupil_id)


def _profile_context(pupil):
    profile = learning_profile(db.session, pupil, utcnow(), current_scope(),
                               int(current_app.config.get("SUPPRESSION_THRESHOLD", 5)))
    charts = {}
    if profile.finished_rounds:
        title = f"{pupil.first_name} {pupil.surname}: factor scores by round"
        charts["profile"] = profile_figure(**profile_chart_data(profile), title=title).to_json()
        charts["timeline"] = timeline_figure(**timeline_chart_data(profile)).to_json()
    return profile, charts


def _local_standing(pupil, profile):
    """Where the pupil's latest finished scores stand among local peers (None without a norm table)."""
    if not profile.finished_rounds:
        return None
    latest = profile.finished_rounds[-1]
    return local_standing(db.session, pupil, latest.questionnaire.key, latest.round.name,
                          {k: s.score for k, s in latest.scores.items()})


@bp.get("/pupils/<int:pupil_id>/profile")
@staff_required()
def profile(pupil_id: int):
    """One pupil's learning profile; every view is recorded for the audit log."""
    pupil = _viewed_pupil(pupil_id, "viewed profile")
    prof, charts = _profile_context(pupil)
    form = SupportForm(starts_on=utcnow().date())
    return _render_and_keep_statistics("profiles/profile.html", pupil=pupil, profile=prof, charts=charts, form=form,
                                       interventions=pupil_interventions(db.session, pupil.id),
                                       local=_local_standing(pupil, prof))


@bp.get("/pupils/<int:pupil_id>/profile/print")
@staff_required()
def profile_print(pupil_id: int):
    """The profile for a review meeting: A4, black-and-white friendly, no navigation."""
    pupil = _viewed_pupil(pupil_id, "printed profile")
    prof, charts = _profile_context(pupil)
    return _render_and_keep_statistics("profiles/print.html", pupil=pupil, profile=prof, charts=charts,
                                       now=utcnow(), local=_local_standing(pupil, prof))


def _save_support(form: SupportForm, pupil, save, done: str):
    """Validate `form` and call `save(...)` with its values; return a redirect, or None
    with the problem added to the form."""
    if not form.validate_on_submit():
        return None
    try:
        save(db.session, current_user, form.kind.data, form.intervention_type.data, form.text.data,
             form.starts_on.data, form.ends_on.data, utcnow())
    except SupportError as exc:
        form.text.errors.append(str(exc))
        return None
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("profiles.profile", pupil_id=pupil.id) + "#support")


@bp.post("/pupils/<int:pupil_id>/support")
@staff_required()
def add_support(pupil_id: int):
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    form = SupportForm()
    saved = _save_support(form, pupil, lambda session, *values: add_entry(session, pupil, *values),
                          "Added to the support log.")
    if saved is not None:
        return saved
    return render_template("profiles/support_form.html", pupil=pupil, form=form, entry=None), 400


def _entry_or_404(pupil_id: int, entry_id: int) -> tuple:
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    entry = db.session.scalar(
        select(SupportEntry).where(SupportEntry.id == entry_id, SupportEntry.pupil_id == pupil.id)
    )
    if entry is None:
        abort(404)
    return pupil, entry


@bp.route("/pupils/<int:pupil_id>/support/<int:entry_id>", methods=["GET", "POST"])
@staff_required()
def edit_support(pupil_id: int, entry_id: int):
    pupil, entry = _entry_or_404(pupil_id, entry_id)
    form = SupportForm(obj=entry)
    if request.method == "GET":
        form.intervention_type.data = entry.intervention_type or ""
    saved = _save_support(form, pupil, lambda session, *values: edit_entry(session, entry, *values),
                          "Support log entry updated.")
    if saved is not None:
        return saved
    history = db.session.scalars(
        select(ChangeLog).where(ChangeLog.entity == "support", ChangeLog.entity_id == entry.id)
        .order_by(ChangeLog.at.desc())
    ).all()
    status = 400 if form.errors else 200
    return render_template("profiles/support_form.html", pupil=pupil, form=form, entry=entry,
                           history=history), status
