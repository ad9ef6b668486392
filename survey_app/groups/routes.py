"""Group routes."""

from __future__ import annotations

from flask import render_template

from ..access import current_scope, staff_required
from ..db import db
from . import bp


@bp.get("/")
@staff_required()
def list_groups():
    groups = db.session.scalars(current_scope().groups()).all()
    return render_template("groups/list.html", groups=groups)


@bp.get("/new")
@staff_required("admin", "lead")
def new_group():
    return render_template("groups/list.html", groups=[])


@bp.get("/<int:group_id>")
@staff_required()
def show_group(group_id: int):
    group = current_scope().group_or_404(db.session, group_id)
    return render_template("groups/list.html", groups=[group])
