"""Pupil routes: a school's pupils (search, filters, pages), a pupil's record, edit, archive."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..flags.operations import FlagError, settable_flags, visible_flags_of
from ..models.paging import page_of
from .forms import GENDER_CHOICES, ButtonForm, PupilForm, PupilSearchForm
from .leaving import school_today
from .operations import save_pupil_record
from .pupils import (
    EDITABLE,
    STATUSES,
    PupilFilters,
    can_set_sharing,
    groups_of,
    pupil_history,
    pupils_query,
    reg_groups,
    set_archived,
)
from .routes import bp


@bp.get("/<int:school_id>/pupils")
@staff_required("admin", "lead")
def list_pupils(school_id: int):
    scope = current_scope()
    school = scope.school_or_404(db.session, school_id)
    form = PupilSearchForm(formdata=request.args)
    form.reg.choices = [SelectChoice("", "Any reg group")] + [
        SelectChoice(r) for r in reg_groups(db.session, scope, school)]
    page = None
    if form.validate():
        filters = PupilFilters(text=form.q.data or "", year_group=form.year.data,
                               reg_group=form.reg.data or "", status=form.status.data or "current")
        page = page_of(db.session, pupils_query(scope, school, filters), form.page.data or 1)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "schools/pupils.html", school=school, form=form, page=page, args=args,
        filtered=any(k in args for k in ("q", "year", "reg")), status_label=STATUSES.get(form.status.data),
        button=ButtonForm(),
    ), (200 if page is not None else 400)


@bp.get("/pupils/<int:pupil_id>")
@staff_required("admin", "lead")
def show_pupil(pupil_id: int):
    scope = current_scope()
    pupil = scope.pupil_or_404(db.session, pupil_id)
    return render_template(
        "schools/pupil.html", pupil=pupil, groups=groups_of(db.session, scope, pupil),
        flags=visible_flags_of(db.session, scope, pupil), history=pupil_history(db.session, pupil),
        button=ButtonForm(),
    )


@bp.route("/pupils/<int:pupil_id>/edit", methods=["GET", "POST"])
@staff_required("admin", "lead")
def edit_pupil(pupil_id: int):
    scope = current_scope()
    pupil = scope.pupil_or_404(db.session, pupil_id)
    user = current_user._get_current_object()
    form, flags = _pupil_form(scope, pupil, user)
    if form.validate_on_submit():
        values = {f: getattr(form, f).data for f in EDITABLE}
        shared = form.shared_with_partnership.data if "shared_with_partnership" in form else None
        try:
            changes = save_pupil_record(db.session, user, pupil, values, shared, form.left_on.data,
                                        form.today, form.flag_ids.data)
        except FlagError as exc:  # a flag deleted while the page was open
            db.session.rollback()
            form.flag_ids.errors.append(str(exc))
        else:
            db.session.commit()
            flash("The pupil's record has been saved." if changes else "Nothing was changed.", "success")
            return redirect(url_for(".show_pupil", pupil_id=pupil.id))
    return render_template("schools/pupil_form.html", form=form, pupil=pupil, flags=flags), \
        (400 if form.errors else 200)


def _pupil_form(scope, pupil, user) -> tuple[PupilForm, list]:
    """The edit form with the gender, flag and sharing choices this user has for this pupil."""
    form = PupilForm(obj=pupil)
    form.gender.choices = list(GENDER_CHOICES)
    if pupil.gender and pupil.gender not in {choice.value for choice in GENDER_CHOICES}:
        form.gender.choices.append(SelectChoice(pupil.gender))  # as the school's system wrote it
    flags = settable_flags(db.session, scope, pupil)
    form.flag_ids.choices = [SelectChoice(f.id, f.name) for f in flags]
    if not form.is_submitted():
        has = {f.id for f in pupil.flags}
        form.flag_ids.data = [f.id for f in flags if f.id in has]
    form.today = school_today(pupil.school)
    if not can_set_sharing(user, pupil.school):
        del form.shared_with_partnership
    return form, flags


def _set_archived(pupil_id: int, archived: bool):
    pupil = current_scope().pupil_or_404(db.session, pupil_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template(
            "schools/pupil.html", pupil=pupil, groups=groups_of(db.session, current_scope(), pupil),
            flags=visible_flags_of(db.session, current_scope(), pupil),
            history=pupil_history(db.session, pupil), button=form,
            error="That button had expired, so nothing was changed. Please try again.",
        ), 400
    if set_archived(db.session, current_user, pupil, archived):
        db.session.commit()
        flash(f"{pupil.display_name} has been archived: hidden from lists, and cannot sign in."
              if archived else f"{pupil.display_name} is back on roll.", "success")
    return redirect(url_for(".show_pupil", pupil_id=pupil.id))


@bp.post("/pupils/<int:pupil_id>/archive")
@staff_required("admin", "lead")
def archive_pupil(pupil_id: int):
    return _set_archived(pupil_id, True)


@bp.post("/pupils/<int:pupil_id>/unarchive")
@staff_required("admin", "lead")
def unarchive_pupil(pupil_id: int):
    return _set_archived(pupil_id, False)
