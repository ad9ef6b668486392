#!/usr/bin/env python
"""The authority dashboard at trust scale, on the data of benchmarks/cohort.py.

    BENCH_PG_SERVER=postgresql+psycopg://postgres@127.0.0.1:5442 COHORT_BENCH_SCHOOLS=10 \\
        .venv/bin/python benchmarks/cohort.py --pg-only --runs 3     # makes cohort_bench_10
    .venv/bin/python benchmarks/authority.py --db cohort_bench_10 [--runs 5]

An authority holding every school of the benchmark trust is added when missing. Timed,
after one warm-up: `build_dashboard` for the latest round compared with the first (school
means with intervals for nine factors, the funnel, change per school, participation of
every round), and the least it must read: one hand-written SQL aggregate per school of the
nine factors' count, sum and sum of squares over the latest round. Printed: median and
slowest of the runs, their ratio, and tracemalloc's peak for one dashboard.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5442")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="cohort_bench")
    ap.add_argument("--runs", type=int, default=5)
    o = ap.parse_args(argv)
    from survey_app import create_app
    from survey_app.authority.dashboard import Selection, build_dashboard
    from survey_app.authority.operations import create_authority
    from survey_app.authority.queries import rounds_of
    from survey_app.db import db
    from survey_app.models import School
    from survey_app.models.authority import Authority
    from survey_app.models.base import utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"{SERVER}/{o.db}", "SECRET_KEY": secrets.token_hex(8)})
    with app.app_context():
        authority = db.session.scalar(sa.select(Authority).where(Authority.name == "Benchmark authority"))
        if authority is None:
            urns = list(db.session.scalars(sa.select(School.urn)))
            authority = create_authority(db.session, "Benchmark authority", urns)
            db.session.commit()
        rounds = rounds_of(db.session, authority)
        pupils = db.session.scalar(sa.text("SELECT count(*) FROM pupils"))
        selection = Selection([rounds[-1].id], [rounds[0].id], None)
        sums = ", ".join(f"count(s.score_{i}), sum(s.score_{i}), sum(s.score_{i} * s.score_{i})" for i in range(1, 10))
        raw_sql = sa.text(f"SELECT p.school_id, {sums} FROM response_scores s "  # noqa: S608 - no input in it
                          "JOIN pupils p ON p.id = s.pupil_id WHERE s.round_id = :r GROUP BY p.school_id")

        def dashboard():
            board = build_dashboard(db.session, authority, selection, 5, utcnow())
            db.session.rollback()
            return board

        def raw():
            rows = db.session.execute(raw_sql, {"r": rounds[-1].id}).all()
            db.session.rollback()
            return rows

        dashboard()
        raw()
        times = {"dashboard": [], "raw": []}
        for _ in range(o.runs):
            for name, fn in (("dashboard", dashboard), ("raw", raw)):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        tracemalloc.start()
        board = dashboard()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        d, r = times["dashboard"], times["raw"]
        print(f"{o.db}: {pupils} pupils, {len(board.schools)} schools, {len(rounds)} rounds; {o.runs} runs")
        print(f"  dashboard: median {statistics.median(d) * 1000:.0f} ms, slowest {max(d) * 1000:.0f} ms; "
              f"raw aggregate: median {statistics.median(r) * 1000:.0f} ms; "
              f"ratio {statistics.median(d) / statistics.median(r):.1f}x; peak memory {peak / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
