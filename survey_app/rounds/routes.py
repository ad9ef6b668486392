"""Round routes."""

from __future__ import annotations

from flask import render_template

from ..access import current_scope, staff_required
from ..db import db
from ..services.completion import round_progress
from . import bp


@bp.get("/")
@staff_required()
def list_rounds():
    rounds = db.session.scalars(current_scope().rounds()).all()
    return render_template("rounds/list.html", rounds=rounds)


@bp.get("/new")
@staff_required("admin", "lead")
def new_round():
    return render_template("rounds/list.html", rounds=[])


@bp.get("/<int:round_id>/completion")
@staff_required()
def completion(round_id: int):
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    return render_template("rounds/list.html", rounds=[survey_round],
                           progress=round_progress(db.session, scope, survey_round))
