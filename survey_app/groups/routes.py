"""Group routes: the list, a group's page, create, edit, archive.

Adding and removing pupils is in members.py.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from . import operations as service
from . import queries
from .forms import ButtonForm, GroupForm, PupilSelectionForm
from .operations import GroupDetails, GroupError, Owner

bp = Blueprint("groups", __name__, template_folder="templates", url_prefix="/staff/groups")



def _actor():
    return current_user._get_current_object()


@bp.get("/")
@staff_required()
def list_groups():
    scope = current_scope()
    include_archived = request.args.get("archived") == "1"
    return render_template(
        "groups/list.html",
        summaries=queries.group_summaries(db.session, scope, include_archived=include_archived),
        include_archived=include_archived, kinds=service.KINDS,
    )


def render_group(group, status: int = 200, remove_form: PupilSelectionForm | None = None):
    """Render a group's page (also used by members.py to show a refused removal)."""
    scope = current_scope()
    owner = service.owner_of(group)
    return render_template(
        "groups/show.html",
        group=group, owner=owner, kinds=service.KINDS,
        pupils=queries.group_pupils(db.session, scope, group),
        staff=queries.group_staff_of(db.session, group),
        rounds=queries.group_rounds(db.session, scope, group),
        history=queries.group_history(db.session, scope, group),
        remove_form=remove_form or PupilSelectionForm(), button=ButtonForm(), now=utcnow(),
    ), status


@bp.get("/<int:group_id>")
@staff_required()
def show_group(group_id: int):
    return render_group(current_scope().group_or_404(db.session, group_id))


def _prepare(form: GroupForm) -> tuple[dict[str, Owner], list]:
    """Set the owner and staff choices the user may pick from; return them for the page."""
    scope = current_scope()
    owners = {o.key: o for o in service.owner_options(db.session, scope)}
    form.owner.choices = [
        SelectChoice(key, f"{o.label} (whole partnership)" if o.kind == "partnership" else o.label)
        for key, o in owners.items()
    ]
    people = service.staff_choices(db.session, scope)
    form.staff_ids.choices = [SelectChoice(u.id, u.name) for u in people]
    form.lead_id.choices = [SelectChoice(0, "No lead teacher yet")] + [
        SelectChoice(u.id, f"{u.name} ({u.email})") for u in people]
    return owners, people


def _details(form: GroupForm, owners: dict[str, Owner]) -> GroupDetails:
    return GroupDetails(
        name=form.name.data or "", kind=form.kind.data, description=form.description.data or "",
        owner=owners[form.owner.data], lead_id=form.lead_id.data or None,
        staff_ids=[sid for sid in form.staff_ids.data if sid != form.lead_id.data],
    )


def _refused(form: GroupForm, exc: GroupError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    (target.errors if target is not None else form.form_errors).append(str(exc))


def _render_form(form, people, group=None):
    status = 400 if form.errors or form.form_errors else 200
    return render_template("groups/form.html", form=form, people=people, group=group), status


@bp.route("/new", methods=["GET", "POST"])
@staff_required("admin", "lead")
def new_group():
    form = GroupForm()
    owners, people = _prepare(form)
    if not form.is_submitted() and owners:
        form.owner.data = next(iter(owners))
    if form.validate_on_submit():
        try:
            group = service.create_group(db.session, _actor(), current_scope(), _details(form, owners))
        except GroupError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash(f"Group “{group.name}” created. Now add its pupils.", "success")
            return redirect(url_for("groups.add_pupils", group_id=group.id))
    return _render_form(form, people)


@bp.route("/<int:group_id>/edit", methods=["GET", "POST"])
@staff_required("admin", "lead")
def edit_group(group_id: int):
    group = current_scope().group_or_404(db.session, group_id)
    form = GroupForm(obj=group if request.method == "GET" else None)
    owners, people = _prepare(form)
    if not form.is_submitted():
        owner = service.owner_of(group)
        form.owner.data = owner.key if owner else None
        staff = queries.group_staff_of(db.session, group)
        form.lead_id.data = next((p.user.id for p in staff if p.is_lead), 0)
        form.staff_ids.data = [p.user.id for p in staff if not p.is_lead]
    if form.validate_on_submit():
        try:
            changed = service.update_group(db.session, _actor(), current_scope(), group,
                                           _details(form, owners))
        except GroupError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash("Group saved." if changed else "Nothing was changed.", "success" if changed else "info")
            return redirect(url_for("groups.show_group", group_id=group.id))
    return _render_form(form, people, group)


def _set_archived(group_id: int, archived: bool):
    group = current_scope().group_or_404(db.session, group_id)
    form = ButtonForm()
    if form.validate_on_submit() and service.set_archived(db.session, _actor(), group, archived):
        db.session.commit()
        flash(f"“{group.name}” is {'archived' if archived else 'back in use'}.", "success")
    return redirect(url_for("groups.show_group", group_id=group.id))


@bp.post("/<int:group_id>/archive")
@staff_required("admin", "lead")
def archive_group(group_id: int):
    return _set_archived(group_id, True)


@bp.post("/<int:group_id>/unarchive")
@staff_required("admin", "lead")
def unarchive_group(group_id: int):
    return _set_archived(group_id, False)
