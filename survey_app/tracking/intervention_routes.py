"""Intervention routes: the list with each owner's due-for-review list, a new plan for a
pupil or a group, one intervention with its notes timeline and its impact."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models import Pupil, School, group_members
from ..models.base import utcnow
from .forms import FACTOR_NAMES, InterventionForm, NoteForm, StatusForm
from .impact import intervention_impact
from .interventions import intervention_or_404, list_interventions, owner_choices, visible_members
from .operations import InterventionError, Plan, add_note, create_intervention, set_status
from .routes import bp

DUE_WITHIN = timedelta(days=7)


@bp.get("/interventions/")
@staff_required()
def list_plans():
    scope, today = current_scope(), utcnow().date()
    show_all = request.args.get("status") == "all"
    return render_template("tracking/interventions.html", today=today, show_all=show_all,
                           due=list_interventions(db.session, scope, current_user.id, today + DUE_WITHIN),
                           plans=list_interventions(db.session, scope, open_only=not show_all))


def _who_and_where() -> tuple[list[int], School, int | None, list[School]]:
    """Return (pupil ids, school, group id, schools to choose from) for ?pupil= or ?group=, in scope."""
    scope = current_scope()
    if request.args.get("pupil"):
        pupil = scope.pupil_or_404(db.session, request.args.get("pupil"))
        return [pupil.id], pupil.school, None, [pupil.school]
    group = scope.group_or_404(db.session, request.args.get("group"))
    members = db.session.execute(select(Pupil.id, Pupil.school_id).join(
        group_members, group_members.c.pupil_id == Pupil.id).where(
        group_members.c.group_id == group.id, scope.pupil_condition(), Pupil.archived.is_(False))).all()
    schools = list(db.session.scalars(select(School).where(School.id.in_({s for _, s in members}))
                                      .order_by(School.name)))
    if not schools:
        abort(400, "This group has no pupils you can see, so there is nobody to plan for.")
    wanted = request.values.get("school", type=int) or (group.school_id or schools[0].id)
    school = next((s for s in schools if s.id == wanted), None)
    if school is None:
        abort(404)
    return [p for p, s in members if s == school.id], school, group.id, schools


def _plan(form: InterventionForm) -> Plan:
    return Plan(title=form.title.data.strip(), kind=form.kind.data, starts_on=form.starts_on.data,
                review_on=form.review_on.data, ends_on=form.ends_on.data,
                success_criterion=form.success_criterion.data.strip(), owner_id=form.owner.data,
                factors=list(form.factors.data or []),
                subjects=[s.strip() for s in (form.subjects.data or "").split(",") if s.strip()],
                attendance=bool(form.attendance.data), measure=form.measure.data or "",
                measure_factor=form.measure_factor.data or None, measure_value=form.measure_value.data)


@bp.route("/interventions/new", methods=["GET", "POST"])
@staff_required()
def new_plan():
    pupil_ids, school, group_id, schools = _who_and_where()
    form = InterventionForm()
    form.school.choices = [SelectChoice(s.id, s.name) for s in schools]
    owners = owner_choices(db.session, school)
    form.owner.choices = [SelectChoice(u.id, f"{u.name} ({u.role})") for u in owners]
    if not form.is_submitted():
        form.school.data, form.owner.data, form.starts_on.data = school.id, current_user.id, utcnow().date()
    if form.validate_on_submit():
        if form.owner.data not in {u.id for u in owners}:
            form.owner.errors.append("Choose an owner from the list.")
        else:
            try:
                plan = create_intervention(db.session, current_user, school, _plan(form), pupil_ids, group_id)
                db.session.commit()
                flash("The intervention was saved.", "success")
                return redirect(url_for(".show_plan", intervention_id=plan.id))
            except InterventionError as exc:
                db.session.rollback()
                form.title.errors.append(str(exc))
    return render_template("tracking/intervention_form.html", form=form, school=school, group_id=group_id,
                           count=len(pupil_ids), many_schools=len(schools) > 1), 400 if form.errors else 200


@bp.get("/interventions/<int:intervention_id>")
@staff_required()
def show_plan(intervention_id: int):
    scope = current_scope()
    plan = intervention_or_404(db.session, scope, intervention_id)
    pupils, total = visible_members(db.session, scope, plan)
    impact = intervention_impact(db.session, scope, plan, int(current_app.config.get("SUPPRESSION_THRESHOLD", 5)))
    return render_template("tracking/intervention.html", plan=plan, pupils=pupils, total=total,
                           note_form=NoteForm(formdata=None, noted_on=utcnow().date()), impact=impact,
                           status_form=StatusForm(formdata=None, obj=plan), factor_names=FACTOR_NAMES,
                           targets=targets_in_words(plan.targets or {}))


def targets_in_words(targets: dict) -> list[str]:
    """Return what an intervention targets, in words (factor names, subjects, attendance)."""
    return ([FACTOR_NAMES.get(f, f) for f in targets.get("factors") or []] + list(targets.get("subjects") or [])
            + (["attendance"] if targets.get("attendance") else []))


def _may_change(plan) -> bool:
    return current_user.role in ("admin", "lead") or current_user.id in (plan.owner_id, plan.created_by_id)


@bp.post("/interventions/<int:intervention_id>/notes")
@staff_required()
def add_plan_note(intervention_id: int):
    plan = intervention_or_404(db.session, current_scope(), intervention_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400, " ".join(e for errors in form.errors.values() for e in errors) or "The note was not saved.")
    add_note(db.session, current_user, plan, form.noted_on.data, form.text.data.strip())
    db.session.commit()
    flash("The note was added.", "success")
    return redirect(url_for(".show_plan", intervention_id=plan.id) + "#notes")


@bp.post("/interventions/<int:intervention_id>/status")
@staff_required()
def set_plan_status(intervention_id: int):
    plan = intervention_or_404(db.session, current_scope(), intervention_id)
    if not _may_change(plan):
        abort(403)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400, " ".join(e for errors in form.errors.values() for e in errors) or "Nothing was saved.")
    try:
        changes = set_status(db.session, current_user, plan, form.status.data, form.review_on.data, form.ends_on.data)
    except InterventionError as exc:
        db.session.rollback()
        abort(400, str(exc))
    db.session.commit()
    flash("Saved." if changes else "Nothing had changed.", "success")
    return redirect(url_for(".show_plan", intervention_id=plan.id))


@bp.get("/interventions/impact")
@staff_required("admin", "lead")
def partnership_impact():
    """Every intervention the lead can see, across schools, with its impact at the latest round."""
    scope = current_scope()
    threshold = int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))
    plans = list_interventions(db.session, scope, open_only=False)
    rows = [(plan, intervention_impact(db.session, scope, plan, threshold)) for plan in plans]
    return render_template("tracking/partnership.html", rows=rows, factor_names=FACTOR_NAMES, threshold=threshold)
