"""Schools routes: the list, a partnership's overview, a school's page, creating and editing."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..accounts.scope import Scope
from ..db import db
from ..models import ChangeLog, Partnership, School, StaffUser
from ..models.people import short_year, year_label
from .forms import ButtonForm, SchoolForm
from .operations import SchoolError, create_school, update_school
from .pupils import (
    FIELD_LABELS,
    archived_count,
    can_set_sharing,
    pupil_counts,
    set_school_sharing,
    sharing_counts,
    show_value,
    year_group_counts,
)

bp = Blueprint("schools", __name__, template_folder="templates", url_prefix="/staff/schools")



@bp.context_processor
def _helpers() -> dict:
    return {"year_label": year_label, "short_year": short_year, "show_value": show_value,
            "field_labels": {**FIELD_LABELS, "left_on": "Left on", "flags": "Flags"}}


def partnership_or_404(scope: Scope, partnership_id: int) -> Partnership:
    """Return the partnership if the user works across it (or is an admin), else 404."""
    partnership = (db.session.get(Partnership, partnership_id) if scope.is_admin
                   else scope.partnership(db.session))
    if partnership is None or partnership.id != partnership_id:
        raise NotFound()
    return partnership


@bp.get("/")
@staff_required("admin", "lead")
def list_schools():
    scope = current_scope()
    schools = db.session.scalars(scope.schools()).all()
    partnership = scope.partnership(db.session)
    return render_template(
        "schools/list.html", schools=schools, partnership=partnership,
        counts=pupil_counts(db.session, scope), can_create=scope.is_admin or partnership is not None,
    )


@bp.get("/partnerships/<int:partnership_id>")
@staff_required("admin", "lead")
def show_partnership(partnership_id: int):
    scope = current_scope()
    partnership = partnership_or_404(scope, partnership_id)
    schools = db.session.scalars(scope.schools().where(School.partnership_id == partnership.id)).all()
    counts = year_group_counts(db.session, scope, [s.id for s in schools])
    years = sorted({year for by_year in counts.values() for year in by_year})
    year_totals = {y: sum(counts[s.id].get(y, 0) for s in schools) for y in years}
    return render_template(
        "schools/partnership.html", partnership=partnership, schools=schools, counts=counts,
        years=years, year_totals=year_totals, total=sum(year_totals.values()),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required("admin", "lead")
def new_school():
    scope = current_scope()
    partnership = scope.partnership(db.session)
    if not scope.is_admin and partnership is None:
        abort(403)  # a school's own lead cannot add schools
    form = SchoolForm()
    form.school_id = None
    if scope.is_admin:
        form.partnership.choices = [SelectChoice(0, "None: the school stands alone")] + [
            SelectChoice(p.id, p.name) for p in db.session.scalars(select(Partnership).order_by(Partnership.name))]
    else:
        del form.partnership
    if form.validate_on_submit():
        if scope.is_admin:
            chosen = form.partnership.data
            partnership = db.session.get(Partnership, chosen) if chosen else None
        try:
            school = create_school(db.session, current_user, form.name.data, form.urn.data, partnership)
        except SchoolError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{school.name} has been added.", "success")
            return redirect(url_for(".show_school", school_id=school.id))
    return render_template("schools/school_form.html", form=form, school=None, partnership=partnership), (
        400 if form.errors else 200)


@bp.get("/<int:school_id>")
@staff_required("admin", "lead")
def show_school(school_id: int):
    scope = current_scope()
    school = scope.school_or_404(db.session, school_id)
    by_year = year_group_counts(db.session, scope, [school.id])[school.id]
    imports = db.session.execute(
        select(ChangeLog, StaffUser.name).outerjoin(StaffUser, ChangeLog.staff_id == StaffUser.id)
        .where(ChangeLog.entity == "school", ChangeLog.entity_id == school.id,
               ChangeLog.action == "imported pupils")
        .order_by(ChangeLog.at.desc(), ChangeLog.id.desc()).limit(10)).all()
    return render_template(
        "schools/school.html", school=school, by_year=by_year, on_roll=sum(by_year.values()),
        archived=archived_count(db.session, scope, school), imports=imports,
        sharing=sharing_counts(db.session, school), may_share=can_set_sharing(current_user, school),
        button=ButtonForm(),
    )


@bp.post("/<int:school_id>/sharing")
@staff_required("admin", "lead")
def set_sharing_for_school(school_id: int):
    """Share every pupil of the school with the partnership's leads, or stop sharing."""
    school = current_scope().school_or_404(db.session, school_id)
    if not can_set_sharing(current_user, school):
        abort(403)
    form = ButtonForm()
    choice = request.form.get("share", "")
    if not form.validate_on_submit() or choice not in ("all", "none"):
        flash("That button had expired or was not understood, so nothing was changed. Please try again.", "error")
        return redirect(url_for(".show_school", school_id=school.id)), 303
    changed = set_school_sharing(db.session, current_user, school, choice == "all")
    db.session.commit()
    flash(f"{changed} pupil record(s) changed: " + (
        "every pupil is now shared with the partnership's leads." if choice == "all"
        else "no pupil is shared individually with the partnership's leads now."), "success")
    return redirect(url_for(".show_school", school_id=school.id))


@bp.route("/<int:school_id>/edit", methods=["GET", "POST"])
@staff_required("admin", "lead")
def edit_school(school_id: int):
    school = current_scope().school_or_404(db.session, school_id)
    form = SchoolForm(obj=school)
    form.school_id = school.id
    del form.partnership
    if form.validate_on_submit():
        try:
            changes = update_school(db.session, current_user, school, form.name.data, form.urn.data)
        except SchoolError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash("The school has been saved." if changes else "Nothing was changed.", "success")
            return redirect(url_for(".show_school", school_id=school.id))
    return render_template("schools/school_form.html", form=form, school=school, partnership=None), (
        400 if form.errors else 200)
