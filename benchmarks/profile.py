"""Benchmark: the learning profile page and a 30-pupil group's heatmap, at scale.

    python benchmarks/profile.py [--pupils 2000] [--rounds 4] [--backend sqlite|postgresql|both]

Builds 2,000 pupils x 4 finished rounds (50 answers and 9 stored scores each) in a fresh
SQLite file and a throwaway PostgreSQL schema, then times both pages through the app
(in-process, signed in as the group's teacher) and counts SQL statements per page. It
also runs a small world (200 pupils x 2 rounds) to show the query count does not grow
with the number of pupils or rounds. Target: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from survey_app import create_app  # noqa: E402
from survey_app.db import db  # noqa: E402
from survey_app.models import (  # noqa: E402
    Answer,
    FactorScore,
    Group,
    Partnership,
    Pupil,
    Response,
    School,
    StaffUser,
    SurveyRound,
    group_members,
    group_staff,
    round_groups,
)
from survey_app.models.base import utcnow  # noqa: E402
from survey_app.models.upn import make_upn  # noqa: E402
from survey_app.questionnaires.store import definition_of, store_file  # noqa: E402
from survey_app.scoring import score_answers  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PHASES = ["before", "during", "after", "follow-up"]


def build_world(pupils: int, rounds: int) -> dict:
    """Create the data in the current app's database; return ids to request."""
    rng = random.Random(7)
    db.drop_all()
    db.create_all()
    version = store_file(db.session, ROOT / "questionnaires" / "pass9-secondary.toml")
    q = definition_of(version)
    partnership = Partnership(name="Bench Trust")
    db.session.add(partnership)
    db.session.flush()
    schools = [School(urn=f"9{i:05d}", name=f"Bench School {i}", partnership_id=partnership.id) for i in range(10)]
    db.session.add_all(schools)
    db.session.flush()
    db.session.execute(sa.insert(Pupil), [
        {"school_id": schools[i % 10].id, "upn": make_upn(800 + i % 10, 4000, 15, i // 10 + 1),
         "first_name": f"Pupil{i}", "surname": f"Bench{i}", "year_group": 7 + i % 5, "sen": "N",
         "fsm": False, "eal": False, "archived": False, "created_at": utcnow(), "updated_at": utcnow()}
        for i in range(pupils)
    ])
    pupil_ids = list(db.session.scalars(sa.select(Pupil.id).order_by(Pupil.id)))
    group = Group(name="Bench group of 30", partnership_id=partnership.id)
    everyone = Group(name="Everyone", partnership_id=partnership.id)
    db.session.add_all([group, everyone])
    db.session.flush()
    db.session.execute(group_members.insert(), [{"group_id": group.id, "pupil_id": p} for p in pupil_ids[:30]])
    db.session.execute(group_members.insert(), [{"group_id": everyone.id, "pupil_id": p} for p in pupil_ids])
    teacher = StaffUser(email="bench@example.org", name="Bench Teacher", role="teacher", password_hash=None,
                        school_id=schools[0].id)
    db.session.add(teacher)
    db.session.flush()
    db.session.execute(group_staff.insert().values(group_id=group.id, staff_id=teacher.id, is_lead=True))
    now = utcnow()
    lo, hi = q.scale_min, q.scale_max
    for r in range(rounds):
        opens = now - timedelta(days=400 - r * 90)
        survey_round = SurveyRound(name=f"Round {r + 1}", phase=PHASES[r % 4], questionnaire_version_id=version.id,
                                   opens_at=opens, closes_at=opens + timedelta(days=14), mode="page",
                                   partnership_id=partnership.id)
        db.session.add(survey_round)
        db.session.flush()
        db.session.execute(round_groups.insert(), [{"round_id": survey_round.id, "group_id": g.id}
                                                   for g in (group, everyone)])
        finished = opens + timedelta(days=2)
        db.session.execute(sa.insert(Response), [
            {"round_id": survey_round.id, "pupil_id": p, "questionnaire_version_id": version.id,
             "started_at": finished - timedelta(minutes=12), "last_activity_at": finished, "finished_at": finished,
             "seconds_spent": 600, "mode": "page", "entered_by": "pupil"}
            for p in pupil_ids
        ])
        responses = db.session.execute(sa.select(Response.id, Response.pupil_id).where(
            Response.round_id == survey_round.id)).all()
        answers, scores = [], []
        for rid, _pid in responses:
            level = rng.gauss(2.8 + 0.1 * r, 0.6)
            given = {}
            for s in q.statements:
                v = max(lo, min(hi, round(level + rng.gauss(0, 0.7))))
                given[s.id] = lo + hi - v if s.reversed else v
                answers.append({"response_id": rid, "item": s.id, "value": given[s.id], "seq": 1,
                                "answered_at": finished})
            for result in score_answers(q, given):
                scores.append({"response_id": rid, "round_id": survey_round.id, "factor": result.factor,
                               "score": result.score, "items_answered": result.items_answered,
                               "items_total": result.items_total, "band": result.band, "computed_at": now})
        for start in range(0, len(answers), 20000):
            db.session.execute(sa.insert(Answer), answers[start:start + 20000])
        db.session.execute(sa.insert(FactorScore), scores)
        db.session.commit()
    return {"group": group.id, "pupil": pupil_ids[3], "teacher": teacher.id}


def measure(app, ids: dict, repeats: int) -> dict:
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    client = app.test_client()
    with app.app_context():
        teacher = db.session.get(StaffUser, ids["teacher"])
        user_id = f"{teacher.id}:{teacher.session_version}"
        engine = db.engine
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["_fresh"] = True
        sess["staff_seen"] = time.time()
    sa.event.listen(engine, "before_cursor_execute", count)
    out = {}
    pages = {
        "profile": f"/staff/pupils/{ids['pupil']}/profile",
        "heatmap": f"/staff/groups/{ids['group']}/heatmap",
        "heatmap (change)": f"/staff/groups/{ids['group']}/heatmap?compare=1",
    }
    try:
        for name, url in pages.items():
            client.get(url)  # warm: caches round statistics, compiles templates
            times, queries = [], []
            for _ in range(repeats):
                counter["n"] = 0
                start = time.perf_counter()
                resp = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                queries.append(counter["n"])
                assert resp.status_code == 200, (url, resp.status_code)
            times.sort()
            out[name] = {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                         "queries": max(queries)}
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return out


def run_backend(backend: str, pupils: int, rounds: int, repeats: int) -> None:
    schema = None
    if backend == "sqlite":
        url = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "profile-bench.sqlite3")
        admin = None
    else:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        results = {}
        for label, (n, r) in {"small": (200, 2), "large": (pupils, rounds)}.items():
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
            with app.app_context():
                start = time.perf_counter()
                ids = build_world(n, r)
                built = time.perf_counter() - start
                answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
            results[label] = (n, r, answers, built, measure(app, ids, repeats))
            with app.app_context():
                db.engine.dispose()
        print(f"\n== {backend} ==")
        print(f"{'world':<8}{'pupils':>8}{'rounds':>8}{'answers':>10}{'build s':>9}  "
              f"{'page':<18}{'median ms':>10}{'p95 ms':>9}{'queries':>9}")
        for label, (n, r, answers, built, pages) in results.items():
            for page, m in pages.items():
                print(f"{label:<8}{n:>8}{r:>8}{answers:>10}{built:>9.1f}  {page:<18}"
                      f"{m['median']:>10.1f}{m['p95']:>9.1f}{m['queries']:>9}")
        large, small = results["large"][4], results["small"][4]
        for page in large:
            same = large[page]["queries"] == small[page]["queries"]
            target = large[page]["p95"] < 100
            print(f"  {page}: queries {'constant' if same else 'GROW'} "
                  f"({small[page]['queries']} -> {large[page]['queries']}); "
                  f"p95 {large[page]['p95']:.1f} ms {'PASS' if target else 'FAIL'} (target < 100 ms)")
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run_backend(backend, args.pupils, args.rounds, args.repeats)


if __name__ == "__main__":
    main()
