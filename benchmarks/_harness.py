"""Pieces of benchmarks/load.py that are about the system under test, not the simulated users.

- `build_world`: the demo partnership in a fresh database, plus open rounds with codes;
- `LoadServer`: gunicorn with the production settings (gunicorn.conf.py), and each worker's
  resident memory and CPU read from /proc;
- `Meter`: latency and errors per kind of request, and the ledger of acknowledged answers;
- `check_rows`: acknowledged answers against the rows stored for the load's rounds;
- `clear_redis`: removes the rate-limit and session keys of the benchmark's own Redis database.

The rest (the database, the plain gunicorn server, the pupil's browser, Stats and Ledger)
is benchmarks/autosave.py's, imported from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import autosave  # benchmarks/autosave.py
import sqlalchemy as sa
from autosave import HOST, ROOT, BenchError, Ledger, Stats, free_port

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
SESSION_PREFIX = "bench-load-session:"  # sessions live in the same Redis database
KINDS = ("sign-in", "page", "autosave", "finish", "staff sign-in", "staff page", "export",
         "export status")
ANY_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


# ----- set-up ----------------------------------------------------------------------


@dataclass
class StaffPlan:
    email: str
    password: str
    role: str
    pages: list[tuple[str, str]]  # (name, path)


@dataclass
class World:
    codes: list[list[str]]  # [wave][pupil slot]
    load_round_ids: list[int]
    staff: list[StaffPlan]  # loading pages
    exporters: list[StaffPlan]  # the lead and the admin, who export (in sessions of their own)
    cohort_query: str
    answers_per_pupil: int


def build_world(url: str, pupils: int, staff: int, waves: int) -> World:
    """Demo partnership, its 'after' round closed, and `waves` open rounds with codes."""
    from survey_app import create_app
    from survey_app.db import db
    from survey_app.demo.operations import build_demo_data
    from survey_app.models import AccessCode, Group, Pupil, SurveyRound, group_members, group_staff
    from survey_app.models.base import utcnow
    from survey_app.pupil.codes import issue_codes
    from survey_app.questionnaires.store import definition_of

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16)})
    with app.app_context():
        try:
            now = utcnow()
            demo = build_demo_data(db.session, app.config["QUESTIONNAIRE_DIR"], now)
            passwords = {email: (role, password) for role, email, password in demo.logins}
            rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.opens_at)).all()
            before, during, after = rounds[0], rounds[1], rounds[2]
            after.closes_at = now - timedelta(hours=1)  # history: the load has its own round
            groups = db.session.scalars(sa.select(Group).order_by(Group.id)).all()
            all_pupils = db.session.scalars(sa.select(Pupil).order_by(Pupil.id)).all()
            if pupils > len(all_pupils):
                raise BenchError(f"the demo has {len(all_pupils)} pupils; asked for {pupils}")
            chosen = [p.id for p in all_pupils[:pupils]]
            load_rounds = []
            for wave in range(waves):
                r = SurveyRound(
                    name=f"Follow-up (load wave {wave + 1})", phase="follow-up",
                    questionnaire_version_id=before.questionnaire_version_id,
                    opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(days=1),
                    mode="page", partnership_id=before.partnership_id, groups=list(groups),
                )
                db.session.add(r)
                db.session.flush()
                issue_codes(db.session, r, chosen)
                load_rounds.append(r)
            db.session.commit()
            codes = []
            for r in load_rounds:
                by_pupil = dict(db.session.execute(
                    sa.select(AccessCode.pupil_id, AccessCode.code).where(AccessCode.round_id == r.id)
                ).all())
                codes.append([by_pupil[pid] for pid in chosen])
            answers = len(definition_of(before.questionnaire).statements)
            # Staff and what each looks at: a teacher their own group and one of its pupils.
            teacher_group = dict(db.session.execute(
                sa.select(group_staff.c.staff_id, group_staff.c.group_id)).all())
            members = {}
            for gid, pid in db.session.execute(
                sa.select(group_members.c.group_id, group_members.c.pupil_id)
                .order_by(group_members.c.pupil_id)
            ):
                members.setdefault(gid, pid)
            from survey_app.models import StaffUser

            users = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.id)).all()
            ordered = ([u for u in users if u.role == "lead"] + [u for u in users if u.role == "admin"]
                       + [u for u in users if u.role == "teacher"])
            cohort_query = f"round={before.id}&round={during.id}"
            plans = []
            for i, u in enumerate(ordered):
                gid = teacher_group.get(u.id, groups[i % len(groups)].id)
                pages = [
                    ("dashboard", "/staff/"),
                    ("heatmap", f"/staff/groups/{gid}/heatmap?compare={before.id}"),
                    ("profile", f"/staff/pupils/{members[gid]}/profile"),
                    ("cohort change", f"/staff/cohort/?{cohort_query}"),
                ]
                plans.append(StaffPlan(u.email, passwords[u.email][1], u.role, pages))
            return World(codes, [r.id for r in load_rounds], plans[:staff], plans[:2], cohort_query, answers)
        finally:
            db.session.remove()
            db.engine.dispose()


# ----- the server --------------------------------------------------------------------


class LoadServer(autosave.Server):
    """gunicorn -c gunicorn.conf.py (the production settings) on a free port."""

    def __init__(self, url: str, workers: int, logdir: Path, max_requests: int | None):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = logdir / "gunicorn.log"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32), SURVEY_ENV="production",
            SESSION_COOKIE_SECURE="0",  # plain http on the loopback address
            REDIS_URL=REDIS_URL, RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_ENABLED="1",
            SESSION_KEY_PREFIX=SESSION_PREFIX,
            BIND=f"{HOST}:{self.port}", WEB_CONCURRENCY=str(workers), GUNICORN_THREADS="8",
            PYTHONUNBUFFERED="1",
        )
        if max_requests is not None:
            env["GUNICORN_MAX_REQUESTS"] = str(max_requests)
        self.env = env
        self.log = self.log_path.open("wb")
        # The job queue (the background ZIP export) on a queue name of this run's own.
        env["JOBS_QUEUE_NAME"] = f"bench_jobs_{secrets.token_hex(4)}"
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and config
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        # The job queue's worker beside gunicorn, as in production (docs/production.md).
        self.worker_log = (logdir / "worker.log").open("wb")
        self.worker = subprocess.Popen(  # noqa: S603 - our own interpreter and app
            [sys.executable, "-m", "flask", "--app", "survey_app", "worker", "--workers", "2"],
            cwd=ROOT, env=env, stdout=self.worker_log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def stop(self) -> None:
        if self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=5)
        self.worker_log.close()
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"huey.*{self.env['JOBS_QUEUE_NAME']}*"):
                client.delete(key)
        super().stop()

    def workers(self) -> dict[int, int]:
        """{worker pid: resident memory in bytes} of the arbiter's live children."""
        return {pid: rss for pid, rss in _processes().items() if _parent(pid) == self.proc.pid}

    def helpers_rss(self, workers: set[int]) -> int:
        """Resident memory of everything the workers started (the export's Chromium)."""
        procs = _processes()
        total = 0
        for pid, rss in procs.items():
            p, seen = _parent(pid), 0
            while p and p not in workers and p != 1 and seen < 20:
                p, seen = _parent(p), seen + 1
            if p in workers:
                total += rss
        return total


def _processes() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        found[int(entry.name)] = int(line.split()[1]) * 1024
                        break
    return found


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


# ----- measuring -----------------------------------------------------------------------


class Meter:
    """Stats per kind of request, and per staff page."""

    def __init__(self):
        self.kinds = {k: Stats() for k in KINDS}
        self.staff_pages: dict[str, Stats] = {}
        self.ledger = Ledger()
        self.finished = 0
        self.finished_at: list[float] = []  # loop time of each thank-you
        self.unfinished = 0  # pupils who could not finish (gave up, or stopped at the end)
        self.gave_up: Counter = Counter()
        self.exports: list[str] = []

    async def call(self, session: aiohttp.ClientSession, kind: str, method: str, url: str,
                   expect: int, page: str | None = None, **kwargs) -> tuple[int, str, float] | None:
        """Send one request and record it under `kind`; return (status, body, seconds) or None."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            async with session.request(method, url, allow_redirects=False, **kwargs) as r:
                body = await r.read()
                status = r.status
                location = r.headers.get("Location", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._record(kind, page, t0, loop.time(), None, type(exc).__name__)
            return None
        t1 = loop.time()
        self._record(kind, page, t0, t1, 200 if status == expect else status, None)
        text = location if 300 <= status < 400 else body.decode("utf-8", "replace")
        return status, text, t1 - t0

    def _record(self, kind, page, t0, t1, status, exc):
        self.kinds[kind].record(t0, t1, status, exc)
        if page is not None:
            self.staff_pages.setdefault(page, Stats()).record(t0, t1, status, exc)


def _csrf(page: str) -> str:
    match = ANY_CSRF.search(page)
    if not match:
        raise BenchError("page without a CSRF token")
    return match.group(1) or match.group(2)


# ----- checking the database ----------------------------------------------------------------


@dataclass
class Stored:
    acked: int
    rows: int
    lost: int
    stale: int
    unacked_rows: int
    finished: int
    scored: int


def check_rows(url: str, ledger: Ledger, round_ids: list[int]) -> Stored:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT a.response_id, a.item, a.value, a.seq FROM answers a "
                "JOIN responses r ON r.id = a.response_id WHERE r.round_id = ANY(:ids)"
            ), {"ids": round_ids}).all()
            finished = conn.execute(sa.text(
                "SELECT count(*) FROM responses WHERE round_id = ANY(:ids) AND finished_at IS NOT NULL"
            ), {"ids": round_ids}).scalar_one()
            scored = conn.execute(sa.text(
                "SELECT count(DISTINCT f.response_id) FROM factor_scores f "
                "JOIN responses r ON r.id = f.response_id WHERE r.round_id = ANY(:ids)"
            ), {"ids": round_ids}).scalar_one()
    finally:
        engine.dispose()
    stored = {(r.response_id, r.item): (int(r.seq), int(r.value)) for r in rows}
    lost = stale = 0
    for key, (seq, value) in ledger.acked.items():
        have = stored.get(key)
        if have is None:
            lost += 1
        elif have != (seq, value) and not (have[0] > seq and ledger.sent.get(key, {}).get(have[0]) == have[1]):
            stale += 1
    unacked = sum(1 for key in stored if key not in ledger.acked)
    return Stored(len(ledger.acked), len(rows), lost, stale, unacked, finished, scored)


def clear_redis() -> int:
    try:
        import redis
    except ImportError:
        return 0
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        keys = list(client.scan_iter("LIMITS*")) + list(client.scan_iter(SESSION_PREFIX + "*"))
        if keys:
            client.delete(*keys)
        client.close()
        return len(keys)
    except Exception:  # noqa: BLE001 - Redis housekeeping never fails the benchmark
        return 0


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_by_part(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: 'app' (gunicorn's Python processes), 'helpers' (anything else the
    workers started, such as the export's Chromium, whatever its process group), 'db' (every
    postgres process on the machine), 'machine' (all busy time). A process that exited counts
    in its parent's children's time."""
    procs = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        procs[int(entry.name)] = (int(fields[1]), name, sum(int(f) for f in fields[11:15]) / _TICK)
    parts = {"app": 0.0, "helpers": 0.0, "db": 0.0}
    for pid, (_ppid, name, seconds) in procs.items():
        ancestor, hops = pid, 0
        while ancestor not in (server_pid, 0, 1) and ancestor in procs and hops < 30:
            ancestor, hops = procs[ancestor][0], hops + 1
        if ancestor == server_pid:
            parts["app" if name.startswith(("python", "gunicorn")) else "helpers"] += seconds
        elif name == "postgres":
            parts["db"] += seconds
    parts["machine"] = autosave.machine_busy_seconds()
    return parts
