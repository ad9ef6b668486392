"""Setting a flag on pupils (picked from a filterable list) and taking it off."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.people import year_label
from . import operations as service
from . import queries
from .forms import CandidateSearchForm, PupilSelectionForm
from .operations import FlagError
from .routes import bp, render_flag


def _plural(n: int, word: str = "pupil") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _search_args() -> dict[str, str]:
    """The filters the page was showing (carried in the form's action), to show them again."""
    args = {}
    q = request.args.get("q", "").strip()[:100]
    if q:
        args["q"] = q
    for key in ("school", "year"):
        value = request.args.get(key, "")
        if value.isdigit():
            args[key] = value
    return args


def _render_add(flag, select_form=None, status=200):
    scope = current_scope()
    schools = queries.candidate_schools(db.session, scope, flag)
    years = queries.candidate_years(db.session, scope, flag)
    search = CandidateSearchForm(request.args)
    search.school.choices = [SelectChoice("", "Any school")] + [SelectChoice(s.id, s.name) for s in schools]
    search.year.choices = [SelectChoice("", "Any year group")] + [SelectChoice(y, year_label(y)) for y in years]
    results = None
    if search.validate():
        results = queries.search_candidates(db.session, scope, flag, search.q.data or "",
                                            search.school.data, search.year.data)
    else:
        status = max(status, 400)
    return render_template(
        "flags/add_pupils.html", flag=flag, owner=service.owner_of(flag), search=search, results=results,
        select_form=select_form or PupilSelectionForm(formdata=None), limit=queries.SEARCH_LIMIT,
        search_args=_search_args(), filtered=bool(_search_args()), several_schools=len(schools) > 1,
    ), status


@bp.get("/<int:flag_id>/pupils/add")
@staff_required("admin", "lead")
def add_pupils(flag_id: int):
    return _render_add(current_scope().flag_or_404(db.session, flag_id))


@bp.post("/<int:flag_id>/pupils/add")
@staff_required("admin", "lead")
def add_selected(flag_id: int):
    scope = current_scope()
    flag = scope.flag_or_404(db.session, flag_id)
    form = PupilSelectionForm()
    if form.validate_on_submit():
        try:
            result = service.add_pupils(db.session, current_user._get_current_object(), scope, flag,
                                        form.pupil_ids.data)
        except FlagError as exc:
            db.session.rollback()
            form.pupil_ids.errors.append(str(exc))
        else:
            db.session.commit()
            message = f"“{flag.name}” set on {_plural(result.added)}."
            if result.already:
                message += f" {_plural(result.already)} already had it."
            flash(message, "success")
            return redirect(url_for("flags.add_pupils", flag_id=flag.id, **_search_args()))
    return _render_add(flag, select_form=form, status=400)


@bp.post("/<int:flag_id>/pupils/remove")
@staff_required("admin", "lead")
def remove_pupils(flag_id: int):
    scope = current_scope()
    flag = scope.flag_or_404(db.session, flag_id)
    form = PupilSelectionForm()
    if form.validate_on_submit():
        try:
            removed = service.remove_pupils(db.session, current_user._get_current_object(), scope, flag,
                                            form.pupil_ids.data)
        except FlagError as exc:
            db.session.rollback()
            form.pupil_ids.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"“{flag.name}” taken off {_plural(removed)}.", "success")
            return redirect(url_for("flags.show_flag", flag_id=flag.id))
    return render_flag(flag, status=400, remove_form=form)
