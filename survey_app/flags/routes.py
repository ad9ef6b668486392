"""Pupil-flag routes: the list, create, a flag's page, rename/describe, delete.

Setting a flag on pupils and taking it off is in members.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models import pupil_flag_members
from ..models.paging import page_of
from ..models.people import year_label
from . import operations as service
from . import queries
from .forms import ButtonForm, FlagForm, NewFlagForm, PupilSelectionForm
from .operations import FlagError

bp = Blueprint("flags", __name__, template_folder="templates", url_prefix="/staff/flags")


PER_PAGE = 100
RACE = "Someone else saved a flag with that name at the same moment. Choose another name."


def _actor():
    return current_user._get_current_object()


@bp.context_processor
def _helpers() -> dict:
    return {"year_label": year_label}


@bp.get("/")
@staff_required("admin", "lead")
def list_flags():
    scope = current_scope()
    return render_template("flags/list.html", summaries=queries.flag_summaries(db.session, scope),
                           can_create=bool(service.flag_owner_options(db.session, scope)))


def _refused(form, exc: FlagError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    (target.errors if target is not None else form.form_errors).append(str(exc))


def _render_form(form, flag=None):
    status = 400 if form.errors or form.form_errors else 200
    return render_template("flags/form.html", form=form, flag=flag), status


@bp.route("/new", methods=["GET", "POST"])
@staff_required("admin", "lead")
def new_flag():
    form = NewFlagForm()
    owners = service.flag_owner_options(db.session, current_scope())
    form.owner.choices = [
        SelectChoice(o.key, f"{o.label} (whole partnership)" if o.kind == "partnership" else o.label)
        for o in owners]
    if not form.is_submitted() and owners:
        form.owner.data = owners[0].key
    if form.validate_on_submit():
        try:
            flag = service.create_flag(db.session, _actor(), current_scope(), form.name.data,
                                       form.description.data, form.owner.data)
            db.session.commit()
        except FlagError as exc:
            db.session.rollback()
            _refused(form, exc)
        except IntegrityError:
            db.session.rollback()
            form.name.errors.append(RACE)
        else:
            flash(f"Flag “{flag.name}” created. Now choose the pupils who have it.", "success")
            return redirect(url_for("flags.add_pupils", flag_id=flag.id))
    return _render_form(form)


def render_flag(flag, status: int = 200, remove_form: PupilSelectionForm | None = None):
    """Render a flag's page (also used by members.py to show a refused removal)."""
    scope = current_scope()
    page = page_of(db.session, queries.flag_pupils(scope, flag),
                   request.args.get("page", 1, type=int), PER_PAGE)
    return render_template(
        "flags/show.html", flag=flag, owner=service.owner_of(flag), page=page,
        can_manage=scope.can_manage_flag(db.session, flag), can_set=scope.can_manage,
        history=queries.flag_history(db.session, flag),
        remove_form=remove_form or PupilSelectionForm(formdata=None), button=ButtonForm(),
    ), status


@bp.get("/<int:flag_id>")
@staff_required("admin", "lead")
def show_flag(flag_id: int):
    return render_flag(current_scope().flag_or_404(db.session, flag_id))


def _managed_or_403(flag_id: int):
    scope = current_scope()
    flag = scope.flag_or_404(db.session, flag_id)
    if not scope.can_manage_flag(db.session, flag):
        abort(403)  # seen (a school lead sees its partnership's flags) but not theirs to change
    return flag


@bp.route("/<int:flag_id>/edit", methods=["GET", "POST"])
@staff_required("admin", "lead")
def edit_flag(flag_id: int):
    flag = _managed_or_403(flag_id)
    form = FlagForm(obj=flag if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changes = service.update_flag(db.session, _actor(), current_scope(), flag, form.name.data,
                                          form.description.data)
            db.session.commit()
        except FlagError as exc:
            db.session.rollback()
            _refused(form, exc)
        except IntegrityError:
            db.session.rollback()
            form.name.errors.append(RACE)
        else:
            flash("Flag saved." if changes else "Nothing was changed.", "success" if changes else "info")
            return redirect(url_for("flags.show_flag", flag_id=flag.id))
    return _render_form(form, flag)


def _render_delete(flag, form, status=200, error=None):
    pupils = db.session.scalar(select(func.count()).select_from(pupil_flag_members).where(
        pupil_flag_members.c.flag_id == flag.id)) or 0
    return render_template("flags/delete.html", flag=flag, owner=service.owner_of(flag), pupils=pupils,
                           form=form, error=error), status


@bp.get("/<int:flag_id>/delete")
@staff_required("admin", "lead")
def confirm_delete(flag_id: int):
    return _render_delete(_managed_or_403(flag_id), ButtonForm(formdata=None))


@bp.post("/<int:flag_id>/delete")
@staff_required("admin", "lead")
def delete_flag(flag_id: int):
    flag = _managed_or_403(flag_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _render_delete(flag, form, 400, "That button had expired, so nothing was deleted. "
                                               "Please try again.")
    name = flag.name
    try:
        removed = service.delete_flag(db.session, _actor(), current_scope(), flag)
    except FlagError as exc:
        db.session.rollback()
        return _render_delete(flag, form, 400, str(exc))
    db.session.commit()
    flash(f"Flag “{name}” deleted; it was taken off {removed} pupil{'' if removed == 1 else 's'}.", "success")
    return redirect(url_for("flags.list_flags"))
