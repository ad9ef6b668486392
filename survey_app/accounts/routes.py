"""Staff account routes (administrators only): list, create, edit, switch off, clear sign-in
waits, reset links."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import db
from ..models import ChangeLog, StaffUser
from ..models.base import utcnow
from ..security import no_store
from . import operations as ops
from .access import sign_in_waits, staff_required
from .forms import ButtonForm, StaffCreateForm, StaffEditForm
from .passwords import MIN_PASSWORD_LENGTH

bp = Blueprint("accounts", __name__, template_folder="templates", url_prefix="/staff")



def _actor() -> StaffUser:
    return current_user._get_current_object()


def _account_or_404(staff_id: int) -> StaffUser:
    user = db.session.get(StaffUser, staff_id)
    if user is None:
        abort(404)
    return user


def _refused(form, exc: ops.AdminError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    (target.errors if target is not None else form.form_errors).append(str(exc))


def _status(form) -> int:
    return 400 if form.errors or form.form_errors else 200


def _link_page(user: StaffUser, token: str, created: bool):
    link = url_for("accounts.reset_password", token=token, _external=True)
    resp = render_template("accounts/reset_link.html", user=user, link=link, created=created)
    # The link is a password in all but name: never keep a copy of this page.
    return no_store(make_response(resp))


@bp.get("/admin/")
@staff_required("admin")
def index():
    return redirect(url_for("accounts.list_staff"))


@bp.get("/admin/staff")
@staff_required("admin")
def list_staff():
    users = db.session.scalars(
        select(StaffUser).options(selectinload(StaffUser.school), selectinload(StaffUser.partnership))
        .order_by(StaffUser.email)
    ).all()
    return render_template("accounts/staff_list.html", users=users)


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@staff_required("admin")
def new_staff():
    form = StaffCreateForm()
    form.place.choices = ops.place_options(db.session)
    if form.validate_on_submit():
        try:
            place = ops.place_from_key(db.session, form.place.data)
            user, token = ops.create_account(
                db.session, _actor(), form.email.data, form.name.data, form.role.data, place,
                None if form.send_link.data else form.password.data, utcnow(),
            )
        except ops.AdminError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            if token is not None:
                return _link_page(user, token, created=True)
            flash(f"Account created for {user.email}. Tell them their initial password in person.", "success")
            return redirect(url_for("accounts.show_staff", staff_id=user.id))
    return render_template("accounts/staff_new.html", form=form,
                           min_length=MIN_PASSWORD_LENGTH), _status(form)


def _render_account(user: StaffUser, form: StaffEditForm, status: int = 200):
    history = db.session.scalars(
        select(ChangeLog).where(ChangeLog.entity == "staff", ChangeLog.entity_id == user.id)
        .options(selectinload(ChangeLog.staff)).order_by(ChangeLog.at.desc(), ChangeLog.id.desc()).limit(50)
    ).all()
    return render_template(
        "accounts/staff_show.html", user=user, form=form, button=ButtonForm(), history=history,
        is_self=user.id == current_user.id,
    ), status


@bp.route("/admin/staff/<int:staff_id>", methods=["GET", "POST"])
@staff_required("admin")
def show_staff(staff_id: int):
    user = _account_or_404(staff_id)
    form = StaffEditForm(obj=user if request.method == "GET" else None)
    form.place.choices = ops.place_options(db.session)
    if not form.is_submitted():
        form.place.data = ops.place_of(user).key
    if form.validate_on_submit():
        try:
            place = ops.place_from_key(db.session, form.place.data)
            changed = ops.update_account(db.session, _actor(), user, form.name.data, form.role.data,
                                         place, form.active.data)
        except ops.AdminError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash("Account saved." if changed else "Nothing was changed.", "success" if changed else "info")
            return redirect(url_for("accounts.show_staff", staff_id=user.id))
    return _render_account(user, form, _status(form))


def _button(staff_id: int, action):
    """Run one account action behind a CSRF-checked button, then go back to the account."""
    user = _account_or_404(staff_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        message = action(user)
    except ops.AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        if message:
            flash(message, "success")
    return redirect(url_for("accounts.show_staff", staff_id=user.id))


@bp.post("/admin/staff/<int:staff_id>/unlock")
@staff_required("admin")
def unlock_staff(staff_id: int):
    def unlock(user: StaffUser) -> str:
        ops.unlock_account(db.session, _actor(), user, sign_in_waits())
        return f"{user.email} can try again now, from any computer."

    return _button(staff_id, unlock)


@bp.post("/admin/staff/<int:staff_id>/deactivate")
@staff_required("admin")
def deactivate_staff(staff_id: int):
    return _button(staff_id, lambda user: (
        f"{user.email} is switched off and signed out." if ops.set_active(db.session, _actor(), user, False)
        else None))


@bp.post("/admin/staff/<int:staff_id>/reactivate")
@staff_required("admin")
def reactivate_staff(staff_id: int):
    return _button(staff_id, lambda user: (
        f"{user.email} is switched on again." if ops.set_active(db.session, _actor(), user, True) else None))


@bp.post("/admin/staff/<int:staff_id>/reset-link")
@staff_required("admin")
def reset_link(staff_id: int):
    user = _account_or_404(staff_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    token = ops.issue_link(db.session, _actor(), user, utcnow())
    db.session.commit()
    return _link_page(user, token, created=False)
