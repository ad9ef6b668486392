#!/usr/bin/env python
"""Benchmark: the cohort change report for a whole trust and for one school.

Run from the project root with the project's venv:

    .venv/bin/python benchmarks/cohort.py                 # PostgreSQL, then SQLite
    .venv/bin/python benchmarks/cohort.py --pg-only       # or --sqlite-only
    .venv/bin/python benchmarks/cohort.py --regenerate    # rebuild the data first
    .venv/bin/python benchmarks/cohort.py --runs 7 --explain

Data (kept between runs; rebuilt only when missing, of the wrong size, or with
--regenerate):

- PostgreSQL: database `cohort_bench` on postgresql://postgres@127.0.0.1:5432 (created
  when missing; the schema comes from the app's migrations). A trust of 100 schools x
  1,000 pupils, each pupil in three rounds (before, during, after) of pass9-secondary:
  about 290,000 responses, 14.5 million answers and 2.6 million factor scores, generated
  inside the database with INSERT ... SELECT over the pupils and statements (about two
  and a half minutes on the 2-core development machine, VACUUM ANALYZE included).
- SQLite: instance/cohort-bench.sqlite3, 10 schools x 1,000 pupils x 3 rounds, generated
  in Python and inserted in batches.

Answers are plausible: a latent level per pupil and factor (a pupil-wide part plus a
factor part), a small average rise from round to round with a spread of individual
change, answer noise, about 2% of pupils missing the first round and 5% each later
round, about 1% of responses left unfinished (no scores), and about 0.6% of statements
left unanswered. Factor scores and item codes (the packed answers kept for Cronbach's
alpha) are the app's: on SQLite from `score_answers` and `factor_item_code`; on
PostgreSQL from a lookup table built with the scoring module's own `rescale` and
`score_factor` and with `factor_item_code` for every possible answer pattern of each
factor, joined to the answers in SQL. On both, the scores are then laid out side by side
in response_scores (what store_scores writes; one INSERT ... SELECT per questionnaire
version, also for data generated before that table existed). On every run a random
sample of 200 finished responses is re-scored in Python and compared exactly with the
stored rows (factor_scores and response_scores), and a
plausibility line shows the mean and SD of the scores by round and how often every
statement of a factor got the same answer.

Measured in the same run, interleaved (the machine is shared, so ratios are what count),
N timed runs after one warm-up, signed in as an admin (scope: everything):

- report: `survey_app.cohort.build.cohort_report` for the three rounds, for the whole
  trust and for one school, each followed by a commit as the cohort page does (the round
  statistics it computes on first use stay stored). The stored round statistics are
  cleared first, so the first one-school report shows that one-off cost too;
- raw: the least any report must read, one hand-written SQL aggregate per comparison
  (before->during, before->after) over factor_scores joined to responses for pupils with
  a score in both rounds, giving per factor count, sum of differences and sum of squared
  differences (the targets' ratio is against this one);
- raw wide: the same minimum over response_scores, the table the report reads: per
  comparison one pass over one row per pupil and round, every factor's count and sums as
  columns (printed as a second ratio, for comparison);
- memory: tracemalloc peak and RSS growth of one report, in a fresh process, for one
  school and for the whole trust (100 times the pupils);
- where the time goes: every SQL statement of one one-school and one whole-trust report
  timed with a `before_cursor_execute` / `after_cursor_execute` event pair, totals per
  distinct statement and the slowest 5 printed, and
  `EXPLAIN (ANALYZE, BUFFERS)` of the slowest when a PostgreSQL target fails (or always
  with --explain).

Targets (PostgreSQL, whole trust): p95 under 2 s; median within 2x the raw aggregate's
median; report memory flat (tracemalloc peak for the trust within 2x the one-school
peak + 1 MiB). Each prints PASS or FAIL; the exit code is 0 either way (it is a
benchmark), and 2 when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
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
    round_groups,
)
from survey_app.models.base import utcnow  # noqa: E402
from survey_app.models.upn import make_upn  # noqa: E402
from survey_app.pupil.answers import factor_item_code  # noqa: E402
from survey_app.questionnaires import load_questionnaire  # noqa: E402
from survey_app.questionnaires.store import definition_of, store_file  # noqa: E402
from survey_app.scoring.factors import rescale, score_answers, score_factor  # noqa: E402

PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
# COHORT_BENCH_SCHOOLS=10 or 30 measures a trust of 10,000 or 30,000 pupils on PostgreSQL
# instead of 100,000 (a database and a metadata file of their own), for the growth curve.
PG_SCHOOLS = int(os.environ.get("COHORT_BENCH_SCHOOLS", "100"))
PG_DB = "cohort_bench" if PG_SCHOOLS == 100 else f"cohort_bench_{PG_SCHOOLS}"
SQLITE_PATH = ROOT / "instance" / "cohort-bench.sqlite3"
META_PATH = ROOT / "instance" / ("cohort-bench.json" if PG_SCHOOLS == 100 else f"cohort-bench-{PG_SCHOOLS}.json")
QUESTIONNAIRE = ROOT / "questionnaires" / "pass9-secondary.toml"
TRUST_NAME = "Cohort benchmark trust"
ADMIN_EMAIL = "cohort-bench-admin@example.org"

# Targets (PostgreSQL, whole trust).
TARGET_TRUST_S = 2.0  # p95 of the report
TARGET_RATIO = 2.0  # report median / raw aggregate median
MEMORY_FACTOR, MEMORY_SLACK = 2.0, 1 << 20  # trust peak <= 2 x school peak + 1 MiB

# The generator's model (on the answer scale; 1 point = a third of the 0-100 range).
MISSING_FIRST, MISSING_LATER = 0.02, 0.05  # share of pupils without a response in a round
UNFINISHED = 0.01  # share of responses never finished (some answers, no scores)
SKIPPED = 0.006  # share of statements left unanswered
GENERAL_SD, FACTOR_SD = 0.30, 0.35  # latent level: pupil-wide and per-factor parts
RISE, RISE_SD = 0.08, 0.15  # average rise per round, and its spread between pupils
NOISE_SD = 0.75  # answer noise
ROUND_DATES = [("before", datetime(2024, 9, 16, 8, tzinfo=UTC)), ("during", datetime(2025, 1, 13, 8, tzinfo=UTC)),
               ("after", datetime(2025, 6, 9, 8, tzinfo=UTC))]
SAMPLE = 200  # responses re-scored in Python on every run
NORMAL = "(sqrt(-2.0 * ln(1.0 - random())) * cos(2.0 * pi() * random()))"  # Box-Muller, N(0, 1)


class BenchError(RuntimeError):
    """The benchmark could not run (set-up failed): not a performance result."""


@dataclass(frozen=True)
class Spec:
    backend: str
    schools: int
    per_school: int

    @property
    def pupils(self) -> int:
        return self.schools * self.per_school


SPECS = {"postgresql": Spec("postgresql", PG_SCHOOLS, 1000), "sqlite": Spec("sqlite", 10, 1000)}


def say(message: str) -> None:
    print(message, flush=True)


# ----- databases ---------------------------------------------------------------------


def pg_url() -> str:
    return f"{PG_SERVER}/{PG_DB}"


def pg_recreate(drop: bool) -> None:
    """Create the benchmark database when missing (dropping it first when `drop`)."""
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if drop:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DB})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{PG_DB}"'))
    except sa.exc.OperationalError as exc:
        raise BenchError(f"PostgreSQL is not reachable at {PG_SERVER}: {exc}") from exc
    finally:
        admin.dispose()


def database_url(spec: Spec) -> str:
    if spec.backend == "postgresql":
        return pg_url()
    return "sqlite:///" + str(SQLITE_PATH)


def wipe(spec: Spec) -> None:
    if spec.backend == "postgresql":
        pg_recreate(drop=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(SQLITE_PATH) + suffix).unlink(missing_ok=True)


def make_app(spec: Spec):
    if spec.backend == "postgresql":
        pg_recreate(drop=False)
    else:
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url(spec), "SECRET_KEY": "bench", "TESTING": False})


def upgrade(app) -> None:
    """`flask db upgrade` through the app (quiet: Alembic's INFO lines are noise here)."""
    import logging

    from flask_migrate import upgrade as alembic_upgrade

    logging.disable(logging.INFO)
    try:
        with app.app_context():
            alembic_upgrade()
            db.session.remove()
    finally:
        logging.disable(logging.NOTSET)


# ----- the world -----------------------------------------------------------------------


def world_counts() -> dict:
    """Row counts of the benchmark data (inside an app context)."""
    s = db.session
    trust = s.scalar(sa.select(Partnership.id).where(Partnership.name == TRUST_NAME))
    count = lambda model: s.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    return {
        "trust": trust,
        "schools": s.scalar(sa.select(sa.func.count()).select_from(School).where(School.partnership_id == trust))
        if trust else 0,
        "pupils": count(Pupil),
        "rounds": s.scalar(sa.select(sa.func.count()).select_from(SurveyRound).where(
            SurveyRound.partnership_id == trust)) if trust else 0,
        "responses": count(Response),
        "finished": s.scalar(sa.select(sa.func.count()).select_from(Response).where(Response.finished_at.is_not(None))),
        "answers": count(Answer),
        "factor_scores": count(FactorScore),
        "admin": s.scalar(sa.select(sa.func.count()).select_from(StaffUser).where(StaffUser.email == ADMIN_EMAIL)),
    }


def is_complete(c: dict, spec: Spec, factors: int, statements: int) -> bool:
    return (c["schools"] == spec.schools and c["pupils"] == spec.pupils and c["rounds"] == 3 and c["admin"] == 1
            and c["finished"] > 0.9 * 3 * spec.pupils and c["factor_scores"] == factors * c["finished"]
            and c["answers"] > 0.95 * statements * c["finished"])


def common_setup(spec: Spec, rng: random.Random) -> dict:
    """Trust, schools, questionnaire, rounds, admin, pupils and one group per school."""
    s = db.session
    version = store_file(s, QUESTIONNAIRE)
    trust = Partnership(name=TRUST_NAME)
    s.add(trust)
    s.flush()
    schools = [School(urn=f"7{i:05d}", name=f"Bench school {i + 1:03d}", partnership_id=trust.id)
               for i in range(spec.schools)]
    s.add_all(schools)
    s.flush()
    rounds = []
    for phase, opens in ROUND_DATES:
        r = SurveyRound(name=f"Programme {phase}", phase=phase, questionnaire_version_id=version.id,
                        opens_at=opens, closes_at=opens + timedelta(days=21), mode="page",
                        partnership_id=trust.id)
        s.add(r)
        rounds.append(r)
    s.add(StaffUser(email=ADMIN_EMAIL, name="Benchmark admin", role="admin", password_hash=None))
    s.flush()
    now = utcnow()
    sen = ["N"] * 85 + ["K"] * 12 + ["E"] * 3
    rows = []
    for i, school in enumerate(schools):
        for j in range(spec.per_school):
            rows.append({
                "school_id": school.id, "upn": make_upn(800 + i % 100, 4000 + i, 12 + j // 1000, j % 1000),
                "first_name": f"Pupil{j + 1}", "surname": f"Bench{i + 1}", "year_group": 7 + j % 5,
                "reg_group": f"{7 + j % 5}{'ABCD'[j % 4]}", "gender": rng.choice(["Female", "Male"]),
                "sen": rng.choice(sen), "fsm": rng.random() < 0.25, "eal": rng.random() < 0.15,
                "archived": False, "shared_with_partnership": True, "created_at": now, "updated_at": now,
            })
    for start in range(0, len(rows), 20000):
        s.execute(sa.insert(Pupil), rows[start:start + 20000])
    groups = [Group(name=f"Programme at {school.name}", school_id=school.id) for school in schools]
    s.add_all(groups)
    s.flush()
    s.execute(group_members.insert().from_select(
        ["group_id", "pupil_id"],
        sa.select(Group.id, Pupil.id).join(Pupil, Pupil.school_id == Group.school_id)
        .where(Group.id.in_([g.id for g in groups]))))
    s.execute(round_groups.insert(), [{"round_id": r.id, "group_id": g.id} for r in rounds for g in groups])
    return {"version": version, "trust": trust.id, "rounds": [r.id for r in rounds], "now": now}


def factor_means(q) -> list[float]:
    """The latent mean of each factor on the answer scale, from the file's reference mean."""
    lo, hi = q.scale_min, q.scale_max
    return [lo + (hi - lo) * (f.reference_mean if f.reference_mean is not None else 65.0) / 100.0 for f in q.factors]


def score_lookup(q) -> tuple[int, list[tuple]]:
    """Every answer pattern of every factor, scored by the scoring module's own functions.

    A pattern's code is sum(digit * base**rank) over the factor's statements in order,
    where digit is 0 for no answer and value - lo + 1 otherwise. Returns (base, rows of
    (factor index, code, score, items answered, band, item code)), the item code being
    what store_scores keeps for reliability (factor_item_code).
    """
    lo, hi = q.scale_min, q.scale_max
    values = sorted(q.scale_values)
    if values != list(range(lo, hi + 1)):
        raise BenchError("the generator needs a scale of consecutive whole numbers")
    base = len(values) + 1
    band_keys = [b.key for b in q.bands]
    rows = []
    for fidx, factor in enumerate(q.factors):
        statements = q.statements_of(factor.key)
        for code in range(base ** len(statements)):
            answers, rest = {}, code
            for st in statements:
                rest, digit = divmod(rest, base)
                if digit:
                    answers[st.id] = lo + digit - 1
            # The body of score_answers for one factor, line for line.
            points = [rescale(answers[st.id], st.reversed, lo, hi) for st in statements if st.id in answers]
            result = score_factor(points, len(statements), factor.cutoffs, band_keys, factor.key)
            rows.append((fidx, code, result.score, result.items_answered, result.band,
                         factor_item_code(q, factor.key, answers)))
    return base, rows


def generate_postgresql(spec: Spec) -> None:
    """Build the trust's responses, answers and scores inside PostgreSQL (one transaction)."""
    rng = random.Random(42)
    setup = common_setup(spec, rng)
    q = definition_of(setup["version"])
    lo, hi = q.scale_min, q.scale_max
    conn = db.session.connection()

    def run(sql: str, **params):
        return conn.execute(sa.text(sql), params)

    # Generated rows are consistent by construction: skip per-row foreign-key triggers.
    run("SET LOCAL session_replication_role = replica")
    run("SET LOCAL synchronous_commit = off")
    run("SET LOCAL work_mem = '256MB'")
    run("SELECT setseed(0.42)")
    base, lookup = score_lookup(q)
    run("CREATE TEMP TABLE bench_factor (fidx int PRIMARY KEY, factor text, total int, mean float8) ON COMMIT DROP")
    run("CREATE TEMP TABLE bench_stmt (pos int, item text, fidx int, reversed bool, weight int) ON COMMIT DROP")
    run("CREATE TEMP TABLE bench_lookup (fidx int, code int, score float8, answered int, band text, item_code bigint, "
        "PRIMARY KEY (fidx, code)) ON COMMIT DROP")
    run("CREATE TEMP TABLE bench_round (round_id int, ridx int, opens_at timestamp) ON COMMIT DROP")
    means = factor_means(q)
    run("INSERT INTO bench_factor SELECT * FROM unnest(CAST(:a AS int[]), CAST(:b AS text[]), "
        "CAST(:c AS int[]), CAST(:d AS float8[]))",
        a=list(range(len(q.factors))), b=[f.key for f in q.factors],
        c=[len(q.statements_of(f.key)) for f in q.factors], d=means)
    fidx_of = {f.key: i for i, f in enumerate(q.factors)}
    rank: dict[str, int] = {}
    stmt_rows = []
    for pos, st in enumerate(q.statements, start=1):
        r = rank.get(st.factor, 0)
        rank[st.factor] = r + 1
        stmt_rows.append((pos, st.id, fidx_of[st.factor], st.reversed, base ** r))
    cols = list(zip(*stmt_rows, strict=True))
    run("INSERT INTO bench_stmt SELECT * FROM unnest(CAST(:a AS int[]), CAST(:b AS text[]), CAST(:c AS int[]), "
        "CAST(:d AS bool[]), CAST(:e AS int[]))", a=list(cols[0]), b=list(cols[1]), c=list(cols[2]),
        d=list(cols[3]), e=list(cols[4]))
    cols = list(zip(*lookup, strict=True))
    run("INSERT INTO bench_lookup SELECT * FROM unnest(CAST(:a AS int[]), CAST(:b AS int[]), "
        "CAST(:c AS float8[]), CAST(:d AS int[]), CAST(:e AS text[]), CAST(:f AS bigint[]))",
        a=list(cols[0]), b=list(cols[1]), c=list(cols[2]), d=list(cols[3]), e=list(cols[4]), f=list(cols[5]))
    run("INSERT INTO bench_round SELECT id, row_number() OVER (ORDER BY opens_at) - 1, opens_at "
        "FROM survey_rounds WHERE id = ANY(:ids)", ids=setup["rounds"])

    t = time.perf_counter()
    # The pupil-wide part is drawn once per pupil (a table, so no plan can redraw it).
    # (The f-strings in this function put only module constants and numbers into SQL.)
    run(f"CREATE TEMP TABLE bench_pupil ON COMMIT DROP AS "  # noqa: S608
        f"SELECT id AS pupil_id, {GENERAL_SD} * {NORMAL} AS general FROM pupils")
    run(f"""CREATE TEMP TABLE bench_latent ON COMMIT DROP AS
        SELECT p.pupil_id, f.fidx, f.mean + p.general + {FACTOR_SD} * {NORMAL} AS level,
               {RISE} + {RISE_SD} * {NORMAL} AS rise
        FROM bench_pupil p CROSS JOIN bench_factor f""")  # noqa: S608
    run("""CREATE TEMP TABLE bench_resp ON COMMIT DROP AS
        SELECT br.round_id, br.ridx, p.id AS pupil_id, br.opens_at + random() * interval '10 days' AS started,
               (360 + random() * 900)::int AS spent, random() AS u_finish, random() AS u_present
        FROM bench_round br CROSS JOIN pupils p""")
    run("CREATE INDEX ON bench_latent (pupil_id, fidx)")
    run("ANALYZE bench_latent")
    run("ANALYZE bench_stmt")
    run("""INSERT INTO responses (round_id, pupil_id, questionnaire_version_id, started_at, last_activity_at,
                                  finished_at, seconds_spent, mode, entered_by)
        SELECT round_id, pupil_id, :qv, started, started + spent * interval '1 second',
               CASE WHEN u_finish >= :unfinished THEN started + spent * interval '1 second' END,
               spent, 'page', 'pupil'
        FROM bench_resp
        WHERE u_present >= CASE WHEN ridx = 0 THEN :miss_first ELSE :miss_later END
        ORDER BY ridx, pupil_id""", qv=setup["version"].id, unfinished=UNFINISHED,
        miss_first=MISSING_FIRST, miss_later=MISSING_LATER)
    say(f"    responses: {time.perf_counter() - t:.1f} s")
    for round_id in setup["rounds"]:
        t = time.perf_counter()
        # The answer is drawn in the inner query's select list, once per (response,
        # statement) row; the outer query reverse-scores it. (A LATERAL subquery that does
        # not mention the statement would be drawn once per factor: every statement of a
        # factor the same answer.)
        done = run(f"""INSERT INTO answers (response_id, item, value, seq, answered_at)
            SELECT id, item, CASE WHEN reversed THEN {lo + hi} - v ELSE v END, pos, started_at + pos * interval '15 s'
            FROM (
                SELECT r.id, s.item, s.reversed, s.pos, r.started_at,
                       greatest({lo}, least({hi}, round(l.level + l.rise * br.ridx + {NOISE_SD} * {NORMAL})))::int AS v
                FROM responses r
                JOIN bench_round br ON br.round_id = r.round_id
                JOIN bench_latent l ON l.pupil_id = r.pupil_id
                JOIN bench_stmt s ON s.fidx = l.fidx
                WHERE r.round_id = :round
                  AND (r.finished_at IS NOT NULL OR s.pos <= 5 + r.id % 36)
                  AND random() >= :skipped
                OFFSET 0
            ) drawn
            ORDER BY id, pos""", round=round_id, skipped=SKIPPED).rowcount  # noqa: S608
        say(f"    answers, round {round_id}: {done:,} rows in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    done = run(f"""INSERT INTO factor_scores (response_id, round_id, factor, score, items_answered, items_total,
                                      band, item_code, computed_at)
        SELECT r.id, r.round_id, f.factor, lk.score, lk.answered, f.total, lk.band, lk.item_code, :now
        FROM responses r
        CROSS JOIN bench_factor f
        LEFT JOIN (
            SELECT a.response_id, s.fidx, sum((a.value - {lo} + 1) * s.weight) AS code
            FROM answers a JOIN bench_stmt s ON s.item = a.item
            GROUP BY a.response_id, s.fidx
        ) c ON c.response_id = r.id AND c.fidx = f.fidx
        JOIN bench_lookup lk ON lk.fidx = f.fidx AND lk.code = coalesce(c.code, 0)
        WHERE r.finished_at IS NOT NULL
        ORDER BY r.id, f.fidx""", now=setup["now"].replace(tzinfo=None)).rowcount  # noqa: S608
    say(f"    factor scores: {done:,} rows in {time.perf_counter() - t:.1f} s")
    db.session.commit()


def generate_sqlite(spec: Spec) -> None:
    """Build the smaller world in Python: the same model, scores from score_answers."""
    rng = random.Random(42)
    setup = common_setup(spec, rng)
    s = db.session
    q = definition_of(setup["version"])
    lo, hi = q.scale_min, q.scale_max
    means = factor_means(q)
    fidx_of = {f.key: i for i, f in enumerate(q.factors)}
    pupil_ids = list(s.scalars(sa.select(Pupil.id).order_by(Pupil.id)))
    latent = {}
    for p in pupil_ids:
        general = rng.gauss(0, GENERAL_SD)
        latent[p] = [(m + general + rng.gauss(0, FACTOR_SD), rng.gauss(RISE, RISE_SD)) for m in means]
    next_id = (s.scalar(sa.select(sa.func.max(Response.id))) or 0) + 1
    now = setup["now"]
    for ridx, round_id in enumerate(setup["rounds"]):
        opens = ROUND_DATES[ridx][1]
        responses, answers, scores = [], [], []
        for p in pupil_ids:
            started = opens + timedelta(seconds=rng.random() * 864000)
            spent = int(360 + rng.random() * 900)
            finished = rng.random() >= UNFINISHED
            if rng.random() < (MISSING_FIRST if ridx == 0 else MISSING_LATER):
                continue
            rid = next_id
            next_id += 1
            end = started + timedelta(seconds=spent)
            responses.append({"id": rid, "round_id": round_id, "pupil_id": p,
                              "questionnaire_version_id": setup["version"].id, "started_at": started,
                              "last_activity_at": end, "finished_at": end if finished else None,
                              "seconds_spent": spent, "mode": "page", "entered_by": "pupil"})
            given = {}
            for pos, st in enumerate(q.statements, start=1):
                if not finished and pos > 5 + rid % 36:
                    break
                if rng.random() < SKIPPED:
                    continue
                level, rise = latent[p][fidx_of[st.factor]]
                v = max(lo, min(hi, round(level + rise * ridx + rng.gauss(0, NOISE_SD))))
                given[st.id] = lo + hi - v if st.reversed else v
                answers.append({"response_id": rid, "item": st.id, "value": given[st.id], "seq": pos,
                                "answered_at": started + timedelta(seconds=15 * pos)})
            if finished:
                scores += [{"response_id": rid, "round_id": round_id, "factor": r.factor, "score": r.score,
                            "items_answered": r.items_answered, "items_total": r.items_total, "band": r.band,
                            "item_code": factor_item_code(q, r.factor, given), "computed_at": now}
                           for r in score_answers(q, given)]
        s.execute(sa.insert(Response), responses)
        for start in range(0, len(answers), 50000):
            s.execute(sa.insert(Answer), answers[start:start + 50000])
        for start in range(0, len(scores), 50000):
            s.execute(sa.insert(FactorScore), scores[start:start + 50000])
        say(f"    round {round_id}: {len(responses):,} responses, {len(answers):,} answers, {len(scores):,} scores")
    s.commit()


def fill_response_scores() -> int:
    """Lay out the factor scores of responses that lack a response_scores row side by side
    (what store_scores writes for a real response), in one INSERT ... SELECT per
    questionnaire version; return how many rows were written."""
    from survey_app.models import QuestionnaireVersion, ResponseScores

    done = 0
    for version in db.session.scalars(sa.select(QuestionnaireVersion)):
        picks = []
        for position, factor in enumerate(definition_of(version).factors, start=1):
            for column, source in (("score", FactorScore.score), ("band", FactorScore.band),
                                   ("code", FactorScore.item_code)):
                picks.append(sa.func.max(sa.case((FactorScore.factor == factor.key, source)))
                             .label(f"{column}_{position}"))
        select = (
            sa.select(Response.id, Response.round_id, Response.pupil_id, *picks)
            .join(FactorScore, FactorScore.response_id == Response.id)
            .where(Response.questionnaire_version_id == version.id,
                   ~sa.exists().where(ResponseScores.response_id == Response.id))
            .group_by(Response.id, Response.round_id, Response.pupil_id)
        )
        names = ["response_id", "round_id", "pupil_id"] + [p.name for p in picks]
        before = db.session.scalar(sa.select(sa.func.count()).select_from(ResponseScores))
        db.session.execute(sa.insert(ResponseScores).from_select(names, select))
        done += db.session.scalar(sa.select(sa.func.count()).select_from(ResponseScores)) - before
    db.session.commit()
    if done and db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE response_scores"))
    return done


def ensure_world(app, spec: Spec, regenerate: bool) -> tuple[dict, float | None]:
    """Return (counts, generation seconds or None when the data was kept)."""
    q = load_questionnaire(QUESTIONNAIRE)
    with app.app_context():
        counts = world_counts()
        db.session.remove()
        db.engine.dispose()
    need = regenerate or not is_complete(counts, spec, len(q.factors), len(q.statements))
    if not need:
        upgrade(app)  # e.g. columns added since the data was generated
        with app.app_context():
            t = time.perf_counter()
            filled = fill_response_scores()
            if filled:
                say(f"  laid out {filled:,} responses' scores in response_scores in {time.perf_counter() - t:.1f} s"
                    " (data generated before response_scores existed)")
            db.session.remove()
            db.engine.dispose()
        return counts, None
    if regenerate:
        say("  --regenerate: rebuilding the data")
    elif counts["pupils"] or counts["schools"]:
        say(f"  data present but not the expected size ({counts}); rebuilding")
    wipe(spec)
    app = make_app(spec)
    upgrade(app)
    say(f"  generating {spec.schools} schools x {spec.per_school:,} pupils x 3 rounds on {spec.backend} ...")
    start = time.perf_counter()
    with app.app_context():
        if spec.backend == "postgresql":
            generate_postgresql(spec)
        else:
            generate_sqlite(spec)
        t = time.perf_counter()
        say(f"    response_scores: {fill_response_scores():,} rows in {time.perf_counter() - t:.1f} s")
        generated = time.perf_counter() - start
        say(f"    generated in {generated:.1f} s")
        t = time.perf_counter()
        if spec.backend == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM (ANALYZE)"))
            say(f"    VACUUM (ANALYZE) in {time.perf_counter() - t:.1f} s (as autovacuum would, before timing)")
        counts = world_counts()
        db.session.remove()
        db.engine.dispose()
    return counts, generated


def verify_sample(seed: int) -> tuple[int, int, float]:
    """Re-score SAMPLE random finished responses with score_answers (and pack their
    answers with factor_item_code), comparing every stored column exactly.

    Returns (checked, mismatched, share of fully answered factors where every statement
    got the same point after reverse-scoring: a plausibility check of the generator)."""
    s = db.session
    rng = random.Random(seed)
    top = s.scalar(sa.select(sa.func.max(Response.id)))
    picked: set[int] = set()
    while len(picked) < SAMPLE:
        ids = [rng.randint(1, top) for _ in range(SAMPLE * 2)]
        picked.update(s.scalars(sa.select(Response.id).where(Response.id.in_(ids),
                                                            Response.finished_at.is_not(None))))
    picked_list = sorted(picked)[:SAMPLE]
    answers: dict[int, dict[str, int]] = {rid: {} for rid in picked_list}
    for rid, item, value in s.execute(sa.select(Answer.response_id, Answer.item, Answer.value)
                                      .where(Answer.response_id.in_(picked_list))):
        answers[rid][item] = value
    stored: dict[int, dict[str, tuple]] = {rid: {} for rid in picked_list}
    for row in s.execute(sa.select(FactorScore.response_id, FactorScore.factor, FactorScore.score,
                                   FactorScore.items_answered, FactorScore.items_total, FactorScore.band,
                                   FactorScore.item_code)
                         .where(FactorScore.response_id.in_(picked_list))):
        stored[row[0]][row[1]] = tuple(row[2:])
    from survey_app.models import ResponseScores

    wide = {row.response_id: row._mapping for row in s.execute(
        sa.select(ResponseScores.__table__).where(ResponseScores.response_id.in_(picked_list)))}
    version = {rid: v for rid, v in s.execute(sa.select(Response.id, Response.questionnaire_version_id)
                                              .where(Response.id.in_(picked_list)))}
    from survey_app.models import QuestionnaireVersion

    bad = flat = complete = 0
    for rid in picked_list:
        q = definition_of(s.get(QuestionnaireVersion, version[rid]))
        for factor in q.factors:
            statements = q.statements_of(factor.key)
            if all(st.id in answers[rid] for st in statements):
                complete += 1
                points = {rescale(answers[rid][st.id], st.reversed, q.scale_min, q.scale_max) for st in statements}
                flat += len(points) == 1
        expected = {r.factor: (r.score, r.items_answered, r.items_total, r.band,
                               factor_item_code(q, r.factor, answers[rid]))
                    for r in score_answers(q, answers[rid])}
        laid_out = {f.key: (wide[rid][f"score_{i}"], wide[rid][f"band_{i}"], wide[rid][f"code_{i}"])
                    for i, f in enumerate(q.factors, start=1)} if rid in wide else None
        if laid_out != {k: (v[0], v[3], v[4]) for k, v in expected.items()}:
            bad += 1
            if bad <= 3:
                say(f"    response_scores of response {rid}: {laid_out} expected {expected}")
            continue
        if expected != stored[rid]:  # exact: scores are compared with ==, not a tolerance
            bad += 1
            if bad <= 3:
                say(f"    mismatch in response {rid}: stored {stored[rid]} expected {expected}")
    return len(picked_list), bad, flat / max(complete, 1)


# ----- measuring -------------------------------------------------------------------------


RAW_SQL = """
SELECT a.factor, count(*) AS n, sum(b.score - a.score) AS s1, sum((b.score - a.score) * (b.score - a.score)) AS s2
FROM factor_scores a
JOIN responses ra ON ra.id = a.response_id
{school}
JOIN responses rb ON rb.pupil_id = ra.pupil_id AND rb.round_id = :later
JOIN factor_scores b ON b.response_id = rb.id AND b.factor = a.factor
WHERE a.round_id = :baseline AND b.round_id = :later AND a.score IS NOT NULL AND b.score IS NOT NULL
GROUP BY a.factor
"""
SCHOOL_JOIN = "JOIN pupils p ON p.id = ra.pupil_id AND p.school_id = :school"


def raw_aggregate(session, rounds: list[int], school: int | None) -> dict:
    """The minimum a report must read: per comparison and factor, (n, sum d, sum d^2)."""
    sql = sa.text(RAW_SQL.format(school=SCHOOL_JOIN if school else ""))
    out = {}
    for later in rounds[1:]:
        params = {"baseline": rounds[0], "later": later}
        if school:
            params["school"] = school
        out[later] = {f: (n, s1, s2) for f, n, s1, s2 in session.execute(sql, params)}
    return out


def raw_wide_aggregate(session, rounds: list[int], school: int | None, factors: int) -> dict:
    """The same minimum over response_scores (the report's table): per comparison one pass
    over one row per pupil and round, each factor's count, sum d and sum d^2 as columns."""
    columns = ", ".join(
        f"count(b.score_{i} - a.score_{i}), sum(b.score_{i} - a.score_{i}), "
        f"sum((b.score_{i} - a.score_{i}) * (b.score_{i} - a.score_{i}))" for i in range(1, factors + 1))
    school_join = "JOIN pupils p ON p.id = a.pupil_id AND p.school_id = :school" if school else ""
    sql = sa.text(f"SELECT {columns} FROM response_scores a {school_join} "  # noqa: S608 (numbers only)
                  "JOIN response_scores b ON b.pupil_id = a.pupil_id AND b.round_id = :later "
                  "WHERE a.round_id = :baseline")
    out = {}
    for later in rounds[1:]:
        params = {"baseline": rounds[0], "later": later} | ({"school": school} if school else {})
        out[later] = tuple(session.execute(sql, params).one())
    return out


def report_fn():
    try:
        from survey_app.cohort.build import cohort_report
    except ImportError:
        return None
    return cohort_report


def run_report(app, ids: dict, school: int | None):
    """One report, timed from the call to its return (the session is made first).

    Then commits, as the cohort page does after rendering, so the round statistics the
    report computed on first use stay stored for the next report."""
    from survey_app.accounts.scope import Scope
    from survey_app.cohort.selection import CohortSelection

    cohort_report = report_fn()
    selection = CohortSelection(round_ids=tuple(ids["rounds"]), school_ids=(school,) if school else ())
    with app.app_context():
        user = db.session.get(StaffUser, ids["admin"])
        scope = Scope(user)
        now = utcnow()
        start = time.perf_counter()
        report = cohort_report(db.session, scope, selection, now)
        elapsed = time.perf_counter() - start
        db.session.commit()
        db.session.remove()
    return elapsed, report


def run_raw(app, ids: dict, school: int | None, wide: bool = False):
    with app.app_context():
        db.session.connection()  # check a connection out first, as the report's session has one
        start = time.perf_counter()
        if wide:
            out = raw_wide_aggregate(db.session, ids["rounds"], school, ids["factors"])
        else:
            out = raw_aggregate(db.session, ids["rounds"], school)
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, out


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median": statistics.median(ordered), "p95": ordered[math.ceil(0.95 * len(ordered)) - 1],
            "n": len(ordered)}


def agreement(report, raw: dict) -> list[str]:
    """Differences between the report's paired n / mean change and the raw aggregate."""
    problems = []
    for comparison in report.main.comparisons:
        got = raw.get(comparison.later.id, {})
        for change in comparison.factors:
            n, s1, _s2 = got.get(change.factor, (0, 0.0, 0.0))
            if change.n_paired != n:
                problems.append(f"{comparison.later.phase} {change.factor}: paired n {change.n_paired} vs raw {n}")
            elif n and (change.mean_change is None or abs(change.mean_change - s1 / n) > 1e-6):
                problems.append(f"{comparison.later.phase} {change.factor}: mean change "
                                f"{change.mean_change} vs raw {s1 / n}")
    return problems


def clear_round_stats(app, ids: dict) -> None:
    """Drop the stored round statistics, so the next report pays for computing them."""
    from survey_app.models import RoundFactorStats

    with app.app_context():
        db.session.execute(sa.delete(RoundFactorStats).where(RoundFactorStats.round_id.in_(ids["rounds"])))
        db.session.commit()
        db.session.remove()


def time_pair(app, ids: dict, school: int | None, runs: int, with_report: bool) -> dict:
    """Report and raw aggregate, interleaved: 1 warm-up each, then `runs` timed pairs."""
    out = {"report": [], "raw": [], "raw wide": []}
    warm_raw_s, raw = run_raw(app, ids, school)
    run_raw(app, ids, school, wide=True)
    problems = None
    warm_s = None
    if with_report:
        warm_s, report = run_report(app, ids, school)
        problems = agreement(report, raw)
    i = 0
    while i < runs:
        if with_report:
            out["report"].append(run_report(app, ids, school)[0])
            if i == 0 and out["report"][0] > 20 and runs > 3:
                say(f"    (a report takes {out['report'][0]:.0f} s: timing 3 runs instead of {runs})")
                runs = 3
        out["raw"].append(run_raw(app, ids, school)[0])
        out["raw wide"].append(run_raw(app, ids, school, wide=True)[0])
        i += 1
    result = {"raw": summary(out["raw"]), "raw wide": summary(out["raw wide"]), "problems": problems,
              "warm_up": warm_s}
    if with_report:
        result["report"] = summary(out["report"])
    return result


class RssSampler:
    """Peak resident set size of this process while a block runs (sampled every 2 ms)."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(0.002)

    def __enter__(self):
        self.before = self.rss()
        self.peak = self.before
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def growth(self) -> int:
        return self.peak - self.before


def memory_probe(args: dict) -> dict:
    """In a fresh process: warm up with one school's report, then measure the RSS growth
    and the tracemalloc peak of one report for one school, then for the whole trust."""
    spec = SPECS[args["backend"]]
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(spec), "SECRET_KEY": "bench", "TESTING": False})
    ids = args["ids"]
    run_report(app, ids, ids["school"])
    out: dict = {}
    for name, school in (("school", ids["school"]), ("trust", None)):
        # One run measures both (the report is slow when it is slow: no second run).
        # tracemalloc's own bookkeeping is in the RSS figure, the same for both sizes.
        tracemalloc.start()
        with RssSampler() as sampler:
            run_report(app, ids, school)
        out[name] = {"rss_growth": sampler.growth, "rss_peak": sampler.peak,
                     "traced_peak": tracemalloc.get_traced_memory()[1]}
        tracemalloc.stop()
    return out


def measure_memory(spec: Spec, ids: dict) -> dict:
    payload = json.dumps({"backend": spec.backend, "ids": ids})
    done = subprocess.run([sys.executable, __file__, "--memory-probe", payload], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise BenchError(f"memory probe failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def statement_profile(app, ids: dict, spec: Spec, school: int | None, explain: bool) -> list[str]:
    """Time every SQL statement of one report; the top 5, and EXPLAIN of the distinct
    SELECTs among them when asked."""
    records: list[tuple[float, str, object, int]] = []

    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        t0 = conn.info["bench_t0"].pop()
        rows = cursor.rowcount if cursor.rowcount is not None else -1
        records.append((time.perf_counter() - t0, statement, None if executemany else parameters, rows))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        total, _report = run_report(app, ids, school)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    in_db = sum(r[0] for r in records)
    name = "one-school" if school else "whole-trust"
    lines = [f"  statements of one {name} report: {len(records)}, {in_db:.3f} s waiting for the database "
             f"of {total:.3f} s ({total - in_db:.3f} s in Python)"]
    if spec.backend == "sqlite":
        lines.append("  (SQLite computes rows as they are fetched, so part of each statement's time counts as Python)")
    by_sql: dict[str, list[float]] = {}
    for seconds, statement, _params, _rows in records:
        by_sql.setdefault(statement, []).append(seconds)
    lines.append("  by distinct SQL (the same statement with other parameters counted together):")
    for statement, times in sorted(by_sql.items(), key=lambda kv: sum(kv[1]), reverse=True):
        flat = " ".join(statement.split())
        more = " ..." if len(flat) > 150 else ""
        lines.append(f"    {sum(times) * 1000:9.1f} ms  x{len(times):<3} {flat[:150]}{more}")
    lines.append("  slowest 5 statements:")
    top = sorted(records, key=lambda r: r[0], reverse=True)[:5]
    for i, (seconds, statement, _params, rows) in enumerate(top, start=1):
        flat = " ".join(statement.split())
        more = " ..." if len(flat) > 400 else ""
        shown = rows if rows >= 0 else "?"
        lines.append(f"  #{i} {seconds * 1000:9.1f} ms  rows {shown:>7}  {flat[:400]}{more}")
    if explain:
        with app.app_context():
            conn = db.session.connection()
            seen: set[str] = set()
            for i, (seconds, statement, params, _rows) in enumerate(top, start=1):
                head = statement.lstrip().split(None, 1)[0].upper()
                if head not in ("SELECT", "WITH") or seconds < 0.005 or statement in seen:
                    continue  # the same SQL with other parameters (another round) is explained once
                seen.add(statement)
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if spec.backend == "postgresql" else "EXPLAIN QUERY PLAN "
                lines.append(f"  -- {prefix.strip()} of #{i} ({seconds * 1000:.1f} ms when timed above):")
                try:
                    rows = conn.exec_driver_sql(prefix + statement, params if params is not None else ()).all()
                except sa.exc.DBAPIError as exc:
                    lines.append(f"     could not explain: {str(exc.orig).splitlines()[0]}")
                    db.session.rollback()
                    conn = db.session.connection()
                    continue
                for row in rows:
                    text = " | ".join(str(c) for c in row)
                    lines.append("     " + (text[:260] + " ..." if len(text) > 260 else text))
            db.session.rollback()
            db.session.remove()
    return lines


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def build_version() -> str:
    """Which report code was measured: a hash of survey_app/cohort/*.py, and its git state."""
    import hashlib

    folder = ROOT / "survey_app" / "cohort"
    if not (folder / "build.py").exists():
        return "build.py missing"
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    git = lambda *args: subprocess.run(["git", *args, "--", str(folder)], cwd=ROOT, capture_output=True,  # noqa: E731
                                       text=True).stdout.strip()
    state = "with uncommitted changes" if git("status", "--porcelain") else "as committed"
    return f"sha256 {digest.hexdigest()[:12]}, {state} (last commit there {git('log', '-1', '--format=%h')})"


def server_settings() -> str:
    """The PostgreSQL settings that shape these timings (the server is shared; none are changed)."""
    names = ["shared_buffers", "work_mem", "jit", "max_parallel_workers_per_gather", "random_page_cost"]
    rows = db.session.execute(sa.text("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(:n)"),
                              {"n": names}).all()
    return ", ".join(f"{n}={v}" for n, v in sorted(rows, key=lambda r: names.index(r[0])))


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def load_meta() -> dict:
    try:
        return json.loads(META_PATH.read_text())
    except (OSError, ValueError):
        return {}


def run_backend(spec: Spec, regenerate: bool, runs: int, explain: bool) -> dict:
    say(f"\n== {spec.backend}: {spec.schools} schools x {spec.per_school:,} pupils x 3 rounds "
        f"({database_url(spec).split('@')[-1]}) ==")
    app = make_app(spec)
    upgrade(app)
    counts, generated = ensure_world(app, spec, regenerate)
    app = make_app(spec)
    meta = load_meta()
    if generated is not None:
        meta[spec.backend] = {"seconds": round(generated, 1), "at": utcnow().isoformat(timespec="seconds")}
        META_PATH.write_text(json.dumps(meta, indent=1))
        say(f"  generation: {generated:.1f} s (this run)")
    else:
        known = meta.get(spec.backend)
        when = f"{known['seconds']} s on {known['at']}" if known else "time not recorded"
        say(f"  generation: kept from an earlier run ({when}); --regenerate rebuilds it")
    say(f"  rows: {counts['schools']} schools, {counts['pupils']:,} pupils, {counts['responses']:,} responses "
        f"({counts['finished']:,} finished), {counts['answers']:,} answers, {counts['factor_scores']:,} factor scores")
    with app.app_context():
        rounds = list(db.session.scalars(sa.select(SurveyRound.id).where(
            SurveyRound.partnership_id == counts["trust"]).order_by(SurveyRound.opens_at)))
        school = db.session.scalar(sa.select(School.id).where(School.partnership_id == counts["trust"])
                                   .order_by(School.id))
        admin = db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == ADMIN_EMAIL))
        school_pupils = db.session.scalar(sa.select(sa.func.count()).select_from(Pupil)
                                          .where(Pupil.school_id == school))
        checked, bad, same = verify_sample(seed=int(time.time()))
        spread = db.session.execute(sa.select(FactorScore.round_id, sa.func.avg(FactorScore.score),
                                              sa.func.avg(FactorScore.score * FactorScore.score))
                                    .where(FactorScore.round_id.in_(rounds)).group_by(FactorScore.round_id)).all()
        by_round = {r: (m, math.sqrt(max(sq - m * m, 0))) for r, m, sq in spread}
        if spec.backend == "postgresql":
            say(f"  server: {server_settings()}")
        db.session.remove()
    say(f"  stored scores, item codes and response_scores rows against score_answers and factor_item_code on "
        f"{checked} responses: "
        f"{checked - bad} equal, {bad} different  {'PASS' if bad == 0 else 'FAIL'}")
    say("  plausibility: mean (SD) factor score by round "
        + ", ".join(f"{by_round[r][0]:.1f} ({by_round[r][1]:.1f})" for r in rounds if r in by_round)
        + f"; the same point on every statement of a factor in {100 * same:.0f}% of sampled factors")
    ids = {"rounds": rounds, "school": school, "admin": admin,
           "factors": len(load_questionnaire(QUESTIONNAIRE).factors)}
    with_report = report_fn() is not None
    if not with_report:
        say("  the report: survey_app/cohort/build.py is not there yet; timing the raw aggregate only")
    result: dict = {"spec": spec, "counts": counts, "score_check": bad == 0, "with_report": with_report}
    if with_report:
        clear_round_stats(app, ids)  # the first report below computes and stores them, as on first use
    for name, sch, pupils in (("one school", school, school_pupils), ("whole trust", None, counts["pupils"])):
        say(f"  timing: {name} ({pupils:,} pupils), {runs} runs after 1 warm-up ... ({load()})")
        result[name] = time_pair(app, ids, sch, runs, with_report)
    if with_report:
        say(f"  memory: one report in a fresh process ... ({load()})")
        result["memory"] = measure_memory(spec, ids)
        slow = (spec.backend == "postgresql" and (
            result["whole trust"]["report"]["p95"] >= TARGET_TRUST_S
            or result["whole trust"]["report"]["median"] > TARGET_RATIO * result["whole trust"]["raw"]["median"]))
        result["profile"] = (statement_profile(app, ids, spec, school, False)
                             + statement_profile(app, ids, spec, None, explain or slow))
    with app.app_context():
        db.engine.dispose()
    return result


def print_results(result: dict) -> list[tuple[str, bool]]:
    spec: Spec = result["spec"]
    verdicts: list[tuple[str, bool]] = [
        (f"{spec.backend}: stored scores, item codes and response_scores rows equal score_answers and factor_item_code",
         result["score_check"])]
    say(f"\n-- {spec.backend} results --")
    say(f"{'selection':<13}{'pupils':>8}  {'what':<8}{'median s':>10}{'p95 s':>9}{'runs':>6}")
    for name in ("one school", "whole trust"):
        r = result[name]
        pupils = spec.per_school if name == "one school" else spec.pupils
        for what in ("report", "raw", "raw wide"):
            if what in r:
                m = r[what]
                say(f"{name:<13}{pupils:>8}  {what:<8}{m['median']:>10.3f}{m['p95']:>9.3f}{m['n']:>6}")
        if "report" in r:
            if name == "one school":
                say(f"{'':<21}first report, computing and storing the round statistics: {r['warm_up']:.3f} s")
            ratio = r["report"]["median"] / r["raw"]["median"]
            wide = r["report"]["median"] / r["raw wide"]["median"]
            say(f"{'':<21}ratio report/raw (medians) {ratio:.2f}; report/raw wide {wide:.2f}")
            agree = not r["problems"]
            verdicts.append((f"{spec.backend} {name}: report's paired n and mean change equal the raw aggregate",
                             agree))
            for p in (r["problems"] or [])[:5]:
                say(f"    differs: {p}")
    if not result["with_report"]:
        say("  (no report timings: survey_app/cohort/build.py is missing)")
        return verdicts
    mem = result["memory"]
    say(f"  memory of one report: one school tracemalloc peak {mib(mem['school']['traced_peak'])}, "
        f"RSS growth {mib(mem['school']['rss_growth'])}; whole trust tracemalloc peak "
        f"{mib(mem['trust']['traced_peak'])}, RSS growth {mib(mem['trust']['rss_growth'])} "
        f"({spec.pupils // spec.per_school}x the pupils)")
    for line in result["profile"]:
        say(line)
    trust = result["whole trust"]
    flat = mem["trust"]["traced_peak"] <= MEMORY_FACTOR * mem["school"]["traced_peak"] + MEMORY_SLACK
    if spec.backend == "postgresql":
        verdicts += [
            (f"postgresql whole trust: report p95 {trust['report']['p95']:.3f} s under {TARGET_TRUST_S:.0f} s",
             trust["report"]["p95"] < TARGET_TRUST_S),
            (f"postgresql whole trust: report median within {TARGET_RATIO:.0f}x the raw aggregate "
             f"({trust['report']['median'] / trust['raw']['median']:.2f}x)",
             trust["report"]["median"] <= TARGET_RATIO * trust["raw"]["median"]),
        ]
    verdicts.append((f"{spec.backend}: report memory flat (trust peak {mib(mem['trust']['traced_peak'])} <= "
                     f"{MEMORY_FACTOR:.0f} x one-school peak {mib(mem['school']['traced_peak'])} + 1 MiB)", flat))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--pg-only", action="store_true", help="PostgreSQL only")
    only.add_argument("--sqlite-only", action="store_true", help="SQLite only")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the benchmark data first")
    parser.add_argument("--runs", type=int, default=7, help="timed runs after one warm-up (7)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest statements even when fast")
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        print(json.dumps(memory_probe(json.loads(args.memory_probe))))
        return 0
    say(f"survey_app/cohort/*.py: {build_version()}; {load()}")
    backends = ["postgresql"] if args.pg_only else ["sqlite"] if args.sqlite_only else ["postgresql", "sqlite"]
    started = time.perf_counter()
    try:
        results = [run_backend(SPECS[b], args.regenerate, args.runs, args.explain) for b in backends]
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    verdicts = []
    for result in results:
        verdicts += print_results(result)
    say("\n-- targets --")
    for text, ok in verdicts:
        say(f"  {'PASS' if ok else 'FAIL'}  {text}")
    say(f"\nwhole run: {time.perf_counter() - started:.0f} s ({load()} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
