"""Staff home."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models.base import utcnow
from ..rounds.completion import round_summaries

bp = Blueprint("staff", __name__, template_folder="templates", url_prefix="/staff")



@bp.get("/")
@staff_required("admin", "lead", "teacher", "authority")
def dashboard():
    if current_user.role == "authority":  # authority staff see aggregates only: their dashboard
        return redirect(url_for("authority.dashboard"))
    scope = current_scope()
    now = utcnow()
    rounds = db.session.scalars(scope.rounds()).all()
    open_rounds = [r for r in rounds if r.state(now) == "open"]
    counts = {
        "schools": db.session.scalar(select(func.count()).select_from(scope.schools().subquery())),
        "pupils": db.session.scalar(select(func.count()).select_from(scope.pupils().subquery())),
        "groups": db.session.scalar(select(func.count()).select_from(scope.groups().subquery())),
        "rounds": len(rounds),
    }
    return render_template(
        "staff/dashboard.html",
        counts=counts,
        open_rounds=round_summaries(db.session, scope, open_rounds),
        groups=db.session.scalars(scope.groups()).all(),
        now=now,
    )
