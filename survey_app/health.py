"""/healthz for load balancers, and an opt-in bare endpoint for benchmarks."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .db import db
from .extensions import csrf, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 with database ok, or 503 when the database cannot be reached."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


# Registered only with BENCHMARK_ENDPOINTS=1: the same server answering without work,
# so benchmarks/autosave.py can print autosave throughput as a ratio to it.
bench_bp = Blueprint("bench", __name__)


@bench_bp.post("/_bench/bare")
@csrf.exempt
@limiter.exempt
def bare():
    return jsonify(ok=True)
