"""The administrator's authority pages: list and create authorities; one authority's
schools, brokered partnerships and staff (thin: parse, call the operation, redirect)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts import operations as accounts_ops
from ..accounts.access import staff_required
from ..db import db
from ..models import Partnership, School, StaffUser
from ..models.authority import Authority, BrokeredPartnership
from ..models.base import utcnow
from ..models.staff import normalise_email
from ..security import no_store
from . import operations as ops
from .forms import AddSchoolForm, AddStaffForm, AuthorityCreateForm, BrokerForm, ButtonForm, NewStaffForm
from .queries import all_schools, authority_rows, brokered_of, schools_of, staff_of

bp = Blueprint("authority_admin", __name__, template_folder="templates", url_prefix="/staff/authorities")


def _school_choices(schools) -> list[tuple[str, str]]:
    return [(s.urn, f"{s.name} (URN {s.urn})") for s in schools]


def _authority_or_404(authority_id: int) -> Authority:
    authority = db.session.get(Authority, authority_id)
    if authority is None:
        abort(404)
    return authority


def _refused(form, message: str) -> None:
    db.session.rollback()
    form.form_errors.append(message)


@bp.route("/", methods=["GET", "POST"])
@staff_required("admin")
def list_authorities():
    form = AuthorityCreateForm()
    form.schools.choices = _school_choices(all_schools(db.session))
    if form.validate_on_submit():
        try:
            authority = ops.create_authority(db.session, form.name.data, form.schools.data or [], current_user.id)
        except ops.AuthorityError as exc:
            _refused(form, str(exc))
        else:
            db.session.commit()
            flash(f"Authority {authority.name} created.", "success")
            return redirect(url_for("authority_admin.show_authority", authority_id=authority.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("authority/admin_list.html", rows=authority_rows(db.session), form=form), status


def _forms(authority: Authority, **bound):
    """The detail page's forms, their choices set; `bound` replaces one with the submitted copy."""
    mine = schools_of(db.session, authority)
    mine_ids = {s.id for s in mine}
    school_form = bound.get("school_form") or AddSchoolForm(formdata=None)
    school_form.urn.choices = [("", "Choose a school")] + _school_choices(
        [s for s in all_schools(db.session) if s.id not in mine_ids])
    broker_form = bound.get("broker_form") or BrokerForm(formdata=None)
    taken = select(BrokeredPartnership.partnership_id).where(BrokeredPartnership.authority_id != authority.id)
    broker_form.partnership.choices = [("", "Choose a partnership")] + [
        (str(p.id), p.name) for p in db.session.scalars(
            select(Partnership).where(Partnership.id.not_in(taken)).order_by(Partnership.name))]
    broker_form.supported.choices = broker_form.supporting.choices = _school_choices(mine)
    return {"school_form": school_form, "broker_form": broker_form,
            "staff_form": bound.get("staff_form") or AddStaffForm(formdata=None),
            "new_staff_form": bound.get("new_staff_form") or NewStaffForm(formdata=None), "schools": mine}


def _detail(authority: Authority, status: int = 200, **bound):
    return render_template("authority/admin_show.html", authority=authority, button=ButtonForm(),
                           brokered=brokered_of(db.session, authority), staff=staff_of(db.session, authority),
                           **_forms(authority, **bound)), status


def _back(authority: Authority):
    return redirect(url_for("authority_admin.show_authority", authority_id=authority.id))


@bp.get("/<int:authority_id>")
@staff_required("admin")
def show_authority(authority_id: int):
    return _detail(_authority_or_404(authority_id))


def _submit(authority: Authority, name: str, form, action):
    """Run `action` for a valid `form` and go back to the authority; else show the page
    again with the refusal beside that form (nothing saved)."""
    if form.validate_on_submit():
        try:
            message = action()
        except ops.AuthorityError as exc:
            _refused(form, str(exc))
        else:
            db.session.commit()
            flash(message, "success")
            return _back(authority)
    elif "csrf_token" in form.errors:
        abort(400)
    return _detail(authority, 400, **{name: form})


@bp.post("/<int:authority_id>/schools")
@staff_required("admin")
def add_school(authority_id: int):
    authority = _authority_or_404(authority_id)
    form = AddSchoolForm()

    def add() -> str:
        school = ops.add_school(db.session, authority, form.urn.data, current_user.id)
        return f"{school.name} is now a school of {authority.name}."

    return _submit(authority, "school_form", form, add)


@bp.post("/<int:authority_id>/partnerships")
@staff_required("admin")
def broker(authority_id: int):
    authority = _authority_or_404(authority_id)
    form = BrokerForm()

    def record() -> str:
        ident = form.partnership.data or ""
        partnership = db.session.get(Partnership, int(ident)) if ident.isdigit() else None
        if partnership is None:
            raise ops.AuthorityError("Choose a partnership from the list.")
        brokered = db.session.get(BrokeredPartnership, partnership.id)
        if brokered is not None and brokered.authority_id != authority.id:
            raise ops.AuthorityError(f"{partnership.name} was brokered by another authority.")
        ops.broker_partnership(db.session, authority, partnership, form.started_on.data,
                               form.supported.data or [], form.supporting.data or [], current_user.id)
        return f"{partnership.name} recorded as brokered by {authority.name}."

    return _submit(authority, "broker_form", form, record)


@bp.post("/<int:authority_id>/staff")
@staff_required("admin")
def add_staff(authority_id: int):
    authority = _authority_or_404(authority_id)
    form = AddStaffForm()

    def join() -> str:
        staff = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(form.email.data)))
        if staff is None:
            raise ops.AuthorityError(f"No staff account {form.email.data}: create one below.")
        ops.join_staff(db.session, authority, staff, current_user.id)
        return f"{staff.email} now sees {authority.name}'s aggregates only."

    return _submit(authority, "staff_form", form, join)


@bp.post("/<int:authority_id>/staff/new")
@staff_required("admin")
def new_staff(authority_id: int):
    authority = _authority_or_404(authority_id)
    form = NewStaffForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _detail(authority, 400, new_staff_form=form)
    try:
        user, token = accounts_ops.create_account(db.session, current_user._get_current_object(), form.new_email.data,
                                                  form.new_name.data, "authority", accounts_ops.Place(), None, utcnow(),
                                                  via="authority page")
        ops.attach_staff(db.session, authority, user, current_user.id)
    except (accounts_ops.AdminError, ops.AuthorityError) as exc:
        _refused(form, str(exc))
        return _detail(authority, 400, new_staff_form=form)
    db.session.commit()
    link = url_for("accounts.reset_password", token=token, _external=True)
    # The link is a password in all but name: never keep a copy of this page.
    return no_store(make_response(render_template("accounts/reset_link.html", user=user, link=link, created=True)))


def _button(authority_id: int, action):
    """Run one removal behind a CSRF-checked button, then go back to the authority."""
    authority = _authority_or_404(authority_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        message = action(authority)
    except ops.AuthorityError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return _back(authority)


def _row_or_404(model, ident: int):
    row = db.session.get(model, ident)
    if row is None:
        abort(404)
    return row


@bp.post("/<int:authority_id>/schools/<int:school_id>/remove")
@staff_required("admin")
def remove_school(authority_id: int, school_id: int):
    school = _row_or_404(School, school_id)

    def remove(authority: Authority) -> str:
        ops.remove_school(db.session, authority, school, current_user.id)
        return f"{school.name} is no longer a school of {authority.name}."

    return _button(authority_id, remove)


@bp.post("/<int:authority_id>/partnerships/<int:partnership_id>/remove")
@staff_required("admin")
def remove_brokered(authority_id: int, partnership_id: int):
    partnership = _row_or_404(Partnership, partnership_id)

    def remove(authority: Authority) -> str:
        ops.remove_brokered(db.session, authority, partnership, current_user.id)
        return f"{partnership.name} is no longer recorded as brokered by {authority.name}."

    return _button(authority_id, remove)


@bp.post("/<int:authority_id>/staff/<int:staff_id>/remove")
@staff_required("admin")
def remove_staff(authority_id: int, staff_id: int):
    staff = _row_or_404(StaffUser, staff_id)

    def remove(authority: Authority) -> str:
        ops.detach_staff(db.session, authority, staff, current_user.id)
        return f"{staff.email} is off {authority.name}'s staff and signed out; the account stays."

    return _button(authority_id, remove)
