"""Staff account routes (admins only)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from ..access import staff_required
from ..db import db
from ..models import StaffUser
from . import bp


@bp.get("/staff")
@staff_required("admin")
def list_staff():
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("admin/staff_list.html", users=users)
