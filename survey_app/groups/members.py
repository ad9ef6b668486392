"""Adding pupils to a group (by search, or a whole year or registration group) and removing them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from . import operations as service
from .forms import ClassAddForm, PupilSelectionForm, SearchForm
from .operations import GroupError
from .routes import bp, render_group


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _added_message(group, result: service.AddResult) -> str:
    parts = [f"Added {_plural(result.added, 'pupil')} to “{group.name}”."]
    if result.already:
        parts.append(f"{_plural(result.already, 'pupil')} {'was' if result.already == 1 else 'were'} "
                     "already in the group.")
    if result.codes:
        parts.append(f"{_plural(result.codes, 'access code')} made for rounds that are open or scheduled.")
    return " ".join(parts)


def _search_form(group, schools, years) -> SearchForm:
    form = SearchForm(request.args)
    form.school.choices = [SelectChoice("", "Any school")] + [SelectChoice(s.id, s.name) for s in schools]
    form.year.choices = [SelectChoice("", "Any year group")] + [SelectChoice(y, f"Year {y}") for y in years]
    return form


def _class_form(schools, years) -> ClassAddForm:
    form = ClassAddForm()
    form.school_id.choices = [SelectChoice(s.id, s.name) for s in schools]
    form.year_group.choices = [SelectChoice("", "Any year group")] + [
        SelectChoice(y, f"Year {y}") for y in years]
    return form


def _render_add(group, select_form=None, class_form=None, status=200):
    scope = current_scope()
    schools = service.addable_schools(db.session, scope, group)
    years, regs = service.class_options(db.session, scope, group)
    search = _search_form(group, schools, years)
    results = None
    searched = any(request.args.get(k) for k in ("q", "school", "year"))
    if searched and search.validate():
        results = service.search_pupils(db.session, scope, group, search.q.data or "",
                                        search.school.data, search.year.data)
    elif searched:
        status = max(status, 400)
    select_form = select_form or PupilSelectionForm(formdata=None)
    return render_template(
        "groups/add_pupils.html", group=group, search=search, results=results, searched=searched,
        select_form=select_form, class_form=class_form or _class_form(schools, years),
        reg_groups=regs, limit=service.SEARCH_LIMIT, search_args=_search_args(),
    ), status


@bp.get("/<int:group_id>/pupils/add")
@staff_required("admin", "lead")
def add_pupils(group_id: int):
    group = current_scope().group_or_404(db.session, group_id)
    return _render_add(group)


def _search_args() -> dict[str, str]:
    """The search the page was showing (carried in the form's action), to show it again."""
    args = {}
    q = request.args.get("q", "").strip()[:100]
    if q:
        args["q"] = q
    for key in ("school", "year"):
        value = request.args.get(key, "")
        if value.isdigit():
            args[key] = value
    return args


@bp.post("/<int:group_id>/pupils/add")
@staff_required("admin", "lead")
def add_selected(group_id: int):
    scope = current_scope()
    group = scope.group_or_404(db.session, group_id)
    form = PupilSelectionForm()
    if form.validate_on_submit():
        try:
            result = service.add_pupils(db.session, current_user._get_current_object(), scope, group,
                                        form.pupil_ids.data, utcnow())
        except GroupError as exc:
            db.session.rollback()
            form.pupil_ids.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_added_message(group, result), "success")
            return redirect(url_for("groups.add_pupils", group_id=group.id, **_search_args()))
    return _render_add(group, select_form=form, status=400)


@bp.post("/<int:group_id>/pupils/add-class")
@staff_required("admin", "lead")
def add_class(group_id: int):
    scope = current_scope()
    group = scope.group_or_404(db.session, group_id)
    schools = service.addable_schools(db.session, scope, group)
    years, _ = service.class_options(db.session, scope, group)
    form = _class_form(schools, years)
    if form.validate_on_submit():
        school = next(s for s in schools if s.id == form.school_id.data)
        try:
            ids = service.class_pupil_ids(db.session, scope, group, school.id, form.year_group.data,
                                          form.reg_group.data)
            how = {"school": school.name, "year_group": form.year_group.data,
                   "reg_group": form.reg_group.data or None}
            result = service.add_pupils(db.session, current_user._get_current_object(), scope, group,
                                        ids, utcnow(), how=how)
        except GroupError as exc:
            db.session.rollback()
            target = getattr(form, exc.field, None) if exc.field else None
            (target.errors if target is not None else form.form_errors).append(str(exc))
        else:
            db.session.commit()
            flash(_added_message(group, result), "success")
            return redirect(url_for("groups.show_group", group_id=group.id))
    return _render_add(group, class_form=form, status=400)


@bp.post("/<int:group_id>/pupils/remove")
@staff_required("admin", "lead")
def remove_pupils(group_id: int):
    scope = current_scope()
    group = scope.group_or_404(db.session, group_id)
    form = PupilSelectionForm()
    if form.validate_on_submit():
        try:
            removed = service.remove_pupils(db.session, current_user._get_current_object(), scope, group,
                                            form.pupil_ids.data)
        except GroupError as exc:
            db.session.rollback()
            form.pupil_ids.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Removed {_plural(removed, 'pupil')} from “{group.name}”. Their answers are kept.",
                  "success")
            return redirect(url_for("groups.show_group", group_id=group.id))
    return render_group(group, status=400, remove_form=form)
