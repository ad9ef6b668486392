"""Benchmark: the tracking list and its CSV export for one school of 2,000 pupils.

    python benchmarks/tracking.py [--pupils 2000] [--repeats 15] [--backend sqlite|postgresql|both]

Builds one school with 2,000 pupils x 3 finished rounds (9 stored factor scores each), six
subjects x 3 assessment points with targets and predictions, and 3 attendance periods per
pupil, in a fresh SQLite file and a throwaway PostgreSQL schema. Then times, through the
app (in-process, signed in as the school's lead), the tracking page and the CSV export,
and the raw SQL that reads the same rows (pupils, factor scores of finished responses,
results, attendance) with plain cursors. Prints median and p95 and the ratio to the raw
SQL. Target: the page under 1 s (p95).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from survey_app import create_app  # noqa: E402
from survey_app.db import db  # noqa: E402
from survey_app.models import (  # noqa: E402
    AttainmentResult,
    AttendancePeriod,
    FactorScore,
    Pupil,
    Response,
    School,
    StaffUser,
    SurveyRound,
)
from survey_app.models.base import utcnow  # noqa: E402
from survey_app.models.upn import make_upn  # noqa: E402
from survey_app.questionnaires.store import definition_of, store_file  # noqa: E402
from survey_app.scoring.factors import band_for  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SUBJECTS = ["Maths", "English", "Science", "History", "Geography", "Art"]
POINTS = [("Autumn 2", date(2026, 12, 4)), ("Spring 2", date(2027, 3, 26)), ("Summer 2", date(2027, 7, 9))]
TARGET_P95_MS = 1000
RAW_SQL = [
    "SELECT id, upn, first_name, surname, year_group, sen, fsm, eal FROM pupils WHERE school_id = :s",
    "SELECT r.pupil_id, r.round_id, f.factor, f.score, f.band FROM factor_scores f "
    "JOIN responses r ON r.id = f.response_id JOIN pupils p ON p.id = r.pupil_id "
    "WHERE p.school_id = :s AND r.finished_at IS NOT NULL",
    "SELECT a.pupil_id, a.subject, a.assessment, a.assessed_on, a.result, a.result_value, a.target, "
    "a.target_value, a.prediction FROM attainment_results a JOIN pupils p ON p.id = a.pupil_id WHERE p.school_id = :s",
    "SELECT a.pupil_id, a.starts_on, a.ends_on, a.percent FROM attendance_periods a "
    "JOIN pupils p ON p.id = a.pupil_id WHERE p.school_id = :s",
]


def build_world(pupils: int) -> dict:
    """Create the school in the current app's database; return the ids to request."""
    rng = random.Random(17)
    db.drop_all()
    db.create_all()
    version = store_file(db.session, ROOT / "questionnaires" / "pass9-secondary.toml")
    q = definition_of(version)
    school = School(urn="917001", name="Bench Academy")
    db.session.add(school)
    db.session.flush()
    now = utcnow()
    db.session.execute(sa.insert(Pupil), [
        {"school_id": school.id, "upn": make_upn(917, 4000 + i // 999, 15, i % 999 + 1), "first_name": f"P{i}",
         "surname": f"Bench{i}", "year_group": 7 + i % 5, "sen": "N", "fsm": i % 4 == 0, "eal": i % 7 == 0,
         "archived": False, "created_at": now, "updated_at": now} for i in range(pupils)])
    ids = list(db.session.scalars(sa.select(Pupil.id).order_by(Pupil.id)))
    lead = StaffUser(email="lead@bench.example.org", name="Bench Lead", role="lead", password_hash=None,
                     school_id=school.id)
    db.session.add(lead)
    level = {p: rng.uniform(25, 85) for p in ids}
    for r in range(3):
        opens = now - timedelta(days=300 - r * 100)
        survey_round = SurveyRound(name=f"Round {r + 1}", phase=["before", "during", "after"][r],
                                   questionnaire_version_id=version.id, opens_at=opens,
                                   closes_at=opens + timedelta(days=14), mode="page", school_id=school.id)
        db.session.add(survey_round)
        db.session.flush()
        done = opens + timedelta(days=2)
        db.session.execute(sa.insert(Response), [
            {"round_id": survey_round.id, "pupil_id": p, "questionnaire_version_id": version.id, "started_at": done,
             "last_activity_at": done, "finished_at": done, "seconds_spent": 600, "mode": "page",
             "entered_by": "pupil"} for p in ids])
        scores = []
        for rid, pid in db.session.execute(sa.select(Response.id, Response.pupil_id).where(
                Response.round_id == survey_round.id)):
            for f in q.factors:
                score = max(0.0, min(100.0, rng.gauss(level[pid], 12)))
                scores.append({"response_id": rid, "round_id": survey_round.id, "factor": f.key, "score": score,
                               "items_answered": 5, "items_total": 5, "computed_at": now,
                               "band": band_for(score, f.cutoffs, [b.key for b in q.bands])})
        for start in range(0, len(scores), 20000):
            db.session.execute(sa.insert(FactorScore), scores[start:start + 20000])
    results = []
    for p in ids:
        for subject in SUBJECTS:
            target = rng.randint(3, 8)
            for point, day in POINTS:
                grade = max(1, min(9, target + rng.choice([-2, -1, 0, 0, 1])))
                results.append({"pupil_id": p, "subject": subject, "assessment": point, "assessed_on": day,
                                "scale": "gcse", "result": str(grade), "result_value": float(grade),
                                "target": str(target), "target_value": float(target),
                                "prediction": str(min(9, grade + 1)), "prediction_value": float(min(9, grade + 1)),
                                "imported_at": now})
    for start in range(0, len(results), 20000):
        db.session.execute(sa.insert(AttainmentResult), results[start:start + 20000])
    periods = [{"pupil_id": p, "starts_on": date(2026, 9, 3) + timedelta(days=100 * k),
                "ends_on": date(2026, 12, 4) + timedelta(days=100 * k), "percent": round(rng.uniform(80, 100), 1),
                "imported_at": now} for p in ids for k in range(3)]
    db.session.execute(sa.insert(AttendancePeriod), periods)
    db.session.commit()
    return {"school": school.id, "lead": lead.id, "results": len(results), "periods": len(periods)}


def _timed(fn, repeats: int) -> dict:
    fn()  # warm: round statistics cached, templates compiled
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def measure(app, ids: dict, repeats: int) -> dict:
    client = app.test_client()
    with app.app_context():
        lead = db.session.get(StaffUser, ids["lead"])
        user_id = f"{lead.id}:{lead.session_version}"
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["_fresh"] = True
        sess["staff_seen"] = sess["staff_since"] = time.time()

    def get(url):
        def run():
            resp = client.get(url)
            assert resp.status_code == 200, (url, resp.status_code)
            assert b"Bench" in resp.data
        return run

    def raw():
        with app.app_context(), db.engine.connect() as conn:
            rows = sum(len(conn.execute(sa.text(sql), {"s": ids["school"]}).all()) for sql in RAW_SQL)
        assert rows > 0

    return {"tracking page": _timed(get(f"/staff/tracking/?school={ids['school']}"), repeats),
            "CSV export": _timed(get(f"/staff/tracking/export.csv?school={ids['school']}"), repeats),
            "raw SQL, same rows": _timed(raw, repeats)}


def run_backend(backend: str, pupils: int, repeats: int) -> None:
    admin = schema = None
    if backend == "sqlite":
        url = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "tracking-bench.sqlite3")
    else:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False,
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            start = time.perf_counter()
            ids = build_world(pupils)
            built = time.perf_counter() - start
        result = measure(app, ids, repeats)
        with app.app_context():
            db.engine.dispose()
        print(f"\n== {backend}: {pupils} pupils x 3 rounds, {len(SUBJECTS)} subjects x {len(POINTS)} points "
              f"({ids['results']} results), {ids['periods']} attendance periods; built in {built:.1f} s ==")
        print(f"{'':<22}{'median ms':>10}{'p95 ms':>9}{'x raw SQL':>11}")
        raw = result["raw SQL, same rows"]["median"]
        for name, m in result.items():
            print(f"{name:<22}{m['median']:>10.1f}{m['p95']:>9.1f}{m['median'] / raw:>10.1f}x")
        page = result["tracking page"]["p95"]
        print(f"  tracking page p95 {page:.0f} ms: {'PASS' if page < TARGET_P95_MS else 'FAIL'} "
              f"(target < {TARGET_P95_MS} ms)")
        export = result["CSV export"]["p95"]
        print(f"  CSV export p95 {export:.0f} ms: {'PASS' if export < TARGET_P95_MS else 'FAIL'} "
              f"(target < {TARGET_P95_MS} ms)")
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run_backend(backend, args.pupils, args.repeats)


if __name__ == "__main__":
    main()
