"""Schools and pupils routes."""

from __future__ import annotations

from flask import render_template

from ..access import current_scope, staff_required
from ..db import db
from . import bp


@bp.get("/")
@staff_required("admin", "lead")
def list_schools():
    scope = current_scope()
    schools = db.session.scalars(scope.schools()).all()
    return render_template("schools/list.html", schools=schools, partnership=scope.partnership(db.session))
