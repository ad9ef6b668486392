#!/usr/bin/env python
"""Autosave benchmark: a computer room of pupils answering against a real gunicorn server.

Run from the project root (inside the venv):

    python benchmarks/autosave.py                       # 300 pupils, SQLite then PostgreSQL
    python benchmarks/autosave.py --backend sqlite --pupils 120
    python benchmarks/autosave.py --quick               # a short smoke run

For each backend it prepares a fresh database (a temporary SQLite file, or a throwaway
PostgreSQL schema), runs `flask db upgrade`, creates exactly N pupils with codes for an
open round, starts gunicorn on 127.0.0.1 and then measures:

1. paced autosave: N pupils sign in (staggered over ~10 s) and answer all 50 statements
   one at a time, 1.0-2.5 s apart, each answer one `POST /survey/api/answers`; 5% of
   them also re-send an answer (a retry), change an earlier answer, and re-send the old
   answer late (a stale retry that must not win);
2. paced bare: the same pupils, the same arrivals, pacing and JSON body against
   `POST /_bench/bare` (the same server answering without doing any work, registered
   with BENCHMARK_ENDPOINTS=1). It runs for 20 s rather than 50 answers, so that both
   backends fit in six minutes: with pauses the rate is set by the offered load, which
   is the same, and the steady window (all pupils answering) is what is compared;
3. saturation: 50 clients with no pauses for 8 s against each endpoint, which gives the
   most answers per second the server can take (paced figures are bounded by the load);
4. the database check, after the paced phase and again at the end: every acknowledged
   answer is in `answers`, with the value of the newest acknowledged save (the highest
   sequence number) for each statement.

Besides latency and throughput it prints the CPU each part used (app = gunicorn and its
workers, db = PostgreSQL processes, client = this script, other = everything else on the
machine), so a run disturbed by other work shows it, and cost per answer can be compared.
A pupil still behind schedule when the paced phase's time limit ends is stopped and
counted as unable to finish; the whole run stays within six minutes.

Options: --pupils N (300), --backend sqlite|postgresql|both, --workers N (4),
--worker-class gthread|sync, --threads N (8), --sat-seconds S, --wsgi MODULE:APP (to
compare a variant of the app under the same load), --quick (30 pupils, 10 answers).

Pacing follows the survey page's script: the pupil clicks on a schedule (think time from
click to click), the save is sent at the click, and the pupil does not wait for it.
Throughput is measured over the steady window (every pupil answering); the average over
the whole phase, ramp-up and tail included, is printed too.

Targets are printed with PASS/FAIL; the exit code is 0 either way (it is a benchmark),
and 2 only when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the set-up uses the app's own models and services
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"
QUESTIONNAIRE = ROOT / "questionnaires" / "pass9-secondary.toml"

# Targets (printed with PASS/FAIL).
TARGET_RATE = 150.0  # answers/s, paced, steady window
TARGET_P95_MS = 100.0  # paced autosave latency
TARGET_BARE_RATIO = 0.5  # saturated autosave throughput / saturated bare throughput
RUN_BUDGET_S = 345.0  # the whole run, both backends, ends within six minutes
QUICK_BUDGET_S = 200.0

# Worker class: gthread. Measured on the 2-core development machine, 4 workers, SQLite,
# `--quick --pupils 50 --sat-seconds 8` once with each `--worker-class`, back to back:
#   sync        saturated autosave  24/s (p50 1967 ms), bare 140/s; paced p50 885 ms.
#               Every request opens a new TCP connection (sync workers never keep one
#               alive) and only 4 requests run at once, so pupils queue behind each save;
#   gthread x8  saturated autosave 123/s (p50  281 ms), bare 522/s; paced p50 11 ms.
#               Keep-alive connections wait in the worker's poller, not in a thread, so
#               300 pupils thinking between answers cost nothing.
# (Other work was using about one core during both runs; the ratio is what matters.)
DEFAULT_WORKER_CLASS = "gthread"
THREADS = 8
# Longer than the longest pause, so a pupil's connection is never closed by the server
# just as the next save is sent; the client drops idle connections first (below).
SERVER_KEEPALIVE_S = 10
CLIENT_KEEPALIVE_S = 5.0

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DATA_RESPONSE = re.compile(r'data-response="(\d+)"')
DATA_SEQ_BASE = re.compile(r'data-seq-base="(\d+)"')


class BenchError(RuntimeError):
    """The benchmark could not run (set-up failed): not a performance result."""


# ----- measurements --------------------------------------------------------------


@dataclass
class Stats:
    """Latency and status of every request of one phase (no per-request logging)."""

    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged only
    done_at: list[float] = field(default_factory=list)  # loop time of each acknowledgement
    ok: int = 0
    statuses: Counter = field(default_factory=Counter)  # non-200 statuses
    exceptions: Counter = field(default_factory=Counter)
    started: float | None = None
    finished: float | None = None
    steady: tuple[float, float] | None = None  # window when every client was sending
    clients: int = 0
    unfinished: int = 0  # clients still going when the phase's time limit ended it

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) + sum(self.exceptions.values())

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    def record(self, t0: float, t1: float, status: int | None, exc: str | None = None) -> None:
        if exc is not None:
            self.exceptions[exc] += 1
        elif status == 200:
            self.ok += 1
            self.latencies.append(t1 - t0)
            self.done_at.append(t1)
        else:
            self.statuses[status] += 1

    def percentile(self, p: float, steady: bool = False) -> float | None:
        """Latency percentile in ms; with `steady`, of the requests done in the steady window."""
        values = self.latencies
        if steady and self.steady is not None:
            lo, hi = self.steady
            values = [lat for lat, t in zip(self.latencies, self.done_at, strict=True) if lo <= t <= hi]
        if not values:
            return None
        ordered = sorted(values)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index] * 1000

    def overall_rate(self) -> float:
        if self.started is None or self.finished is None or self.finished <= self.started:
            return 0.0
        return self.ok / (self.finished - self.started)

    def steady_rate(self) -> float:
        """Acknowledgements per second while every client was sending (else overall)."""
        if self.steady is None or self.steady[1] - self.steady[0] < 2.0:
            return self.overall_rate()
        lo, hi = self.steady
        return sum(1 for t in self.done_at if lo <= t <= hi) / (hi - lo)

    def error_text(self) -> str:
        parts = [f"HTTP {s}: {n}" for s, n in sorted(self.statuses.items(), key=str)]
        parts += [f"{e}: {n}" for e, n in sorted(self.exceptions.items())]
        return ", ".join(parts) if parts else "none"


@dataclass
class Ledger:
    """What the server acknowledged per (response, item), to check against the database."""

    acked: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)  # newest (seq, value)
    sent: dict[tuple[int, str], dict[int, int]] = field(default_factory=dict)  # every seq -> value

    def sending(self, key: tuple[int, str], seq: int, value: int) -> None:
        self.sent.setdefault(key, {})[seq] = value

    def acknowledged(self, key: tuple[int, str], seq: int, value: int) -> None:
        have = self.acked.get(key)
        if have is None or seq > have[0]:
            self.acked[key] = (seq, value)


@dataclass
class Check:
    acked_pairs: int
    rows: int
    lost: int  # acknowledged pairs with no row
    stale: int  # rows older than the newest acknowledged save, or with another value
    unacked_newer: int  # rows holding a newer save whose answer never arrived (timeouts)
    unacked_rows: int  # rows of saves never acknowledged (cut off in flight at a time limit)


def check_database(url: str, ledger: Ledger) -> Check:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT response_id, item, value, seq FROM answers")).all()
    finally:
        engine.dispose()
    stored = {(r.response_id, r.item): (int(r.seq), int(r.value)) for r in rows}
    lost = stale = newer = 0
    for key, (seq, value) in ledger.acked.items():
        have = stored.get(key)
        if have is None:
            lost += 1
        elif have == (seq, value):
            continue
        elif have[0] > seq and ledger.sent.get(key, {}).get(have[0]) == have[1]:
            newer += 1  # a save we sent that timed out on our side but was stored: fine
        else:
            stale += 1
    unacked = sum(1 for key in stored if key not in ledger.acked)
    return Check(len(ledger.acked), len(rows), lost, stale, newer, unacked)


# ----- database set-up -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_flask(args: list[str], env: dict[str, str], timeout: float = 120) -> None:
    cmd = [sys.executable, "-m", "flask", "--app", "survey_app", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd[2:])} failed:\n{done.stdout}\n{done.stderr}")


def create_pupils(url: str, count: int) -> tuple[list[str], list[str]]:
    """Create `count` pupils with codes for an open round; return (codes, statement ids)."""
    from survey_app import create_app
    from survey_app.db import db
    from survey_app.models import AccessCode, Group, Partnership, Pupil, School, SurveyRound
    from survey_app.models.base import utcnow
    from survey_app.models.upn import make_upn
    from survey_app.pupil.codes import issue_codes
    from survey_app.questionnaires.store import definition_of, store_file

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16)})
    with app.app_context():
        try:
            version = store_file(db.session, QUESTIONNAIRE)
            items = [s.id for s in definition_of(version).statements]
            partnership = Partnership(name="Benchmark Partnership")
            db.session.add(partnership)
            pupils = []
            per_school = 250  # UPN serials have three digits
            for s in range(-(-count // per_school)):
                school = School(urn=f"9{s:05d}", name=f"Benchmark School {s + 1}",
                                partnership=partnership)
                db.session.add(school)
                for i in range(min(per_school, count - s * per_school)):
                    pupils.append(Pupil(
                        school=school, upn=make_upn(881, 4100 + s, 14, i + 1),
                        first_name=f"Pupil{len(pupils) + 1}", surname="Bench",
                        year_group=7 + i % 5,
                    ))
            db.session.add_all(pupils)
            db.session.flush()
            group = Group(name="Computer room", partnership_id=partnership.id, pupils=pupils)
            db.session.add(group)
            db.session.flush()
            now = utcnow()
            survey_round = SurveyRound(
                name="Benchmark round", phase="before", questionnaire_version_id=version.id,
                opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1), mode="page",
                partnership_id=partnership.id, groups=[group],
            )
            db.session.add(survey_round)
            db.session.flush()
            issue_codes(db.session, survey_round, [p.id for p in pupils])
            db.session.commit()
            codes = list(db.session.scalars(
                sa.select(AccessCode.code).where(AccessCode.round_id == survey_round.id)
                .order_by(AccessCode.id)
            ))
        finally:
            db.session.remove()
            db.engine.dispose()
    if len(codes) != count:
        raise BenchError(f"expected {count} codes, made {len(codes)}")
    return codes, items


class Database:
    """A fresh database for one backend; `close()` removes it."""

    def __init__(self, backend: str):
        self.backend = backend
        self.tmpdir = Path(tempfile.mkdtemp(prefix="survey-bench-"))
        self.schema: str | None = None
        if backend == "sqlite":
            self.url = "sqlite:///" + str(self.tmpdir / "bench.sqlite3")
        else:
            self.schema = f"bench_{secrets.token_hex(5)}"
            engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 5})
            try:
                with engine.begin() as conn:
                    conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            except sa.exc.SQLAlchemyError as exc:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                raise BenchError(f"PostgreSQL not usable at {PG_URL}: {exc}") from exc
            finally:
                engine.dispose()
            sep = "&" if "?" in PG_URL else "?"
            self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"

    def close(self) -> None:
        if self.schema:
            engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 5})
            try:
                with engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning up
                print(f"  (could not drop schema {self.schema}: {exc})", file=sys.stderr)
            finally:
                engine.dispose()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


# ----- the server ----------------------------------------------------------------


class Server:
    """gunicorn serving wsgi:app on 127.0.0.1, in its own process group."""

    def __init__(self, url: str, workers: int, worker_class: str, threads: int, logdir: Path,
                 wsgi: str):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = logdir / "gunicorn.log"
        self.env = server_env(url)
        cmd = [
            sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", worker_class,
            "-b", f"{HOST}:{self.port}", "--keep-alive", str(SERVER_KEEPALIVE_S),
            "--timeout", "30", "--graceful-timeout", "5", "--backlog", "2048",
        ]
        if worker_class == "gthread":
            cmd += ["--threads", str(threads)]
        cmd.append(wsgi)
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with opener.open(self.base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # Any worker the arbiter left behind is in the group this script created.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# Production keeps sessions in Redis (a start without it is refused): the benchmarks use a
# Redis database of their own and a key prefix of their own, removed by clear_sessions().
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SESSION_PREFIX = f"bench-session-{os.getpid()}:"


def clear_sessions() -> int:
    """Remove this run's session keys from the benchmarks' Redis database."""
    try:
        import redis

        client = redis.Redis.from_url(BENCH_REDIS_URL, socket_timeout=3)
        keys = list(client.scan_iter(SESSION_PREFIX + "*"))
        if keys:
            client.delete(*keys)
        client.close()
        return len(keys)
    except Exception:  # noqa: BLE001 - Redis housekeeping never fails the benchmark
        return 0


def server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("REDIS_URL", BENCH_REDIS_URL)
    env.update(
        SESSION_KEY_PREFIX=SESSION_PREFIX,
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_hex(32),
        SURVEY_ENV="production",
        SESSION_COOKIE_SECURE="0",
        BENCHMARK_ENDPOINTS="1",
        RATELIMIT_ENABLED="0",
        CODE_ATTEMPT_LIMIT="100000 per minute",
        PYTHONUNBUFFERED="1",
    )
    return env


# ----- the virtual pupils --------------------------------------------------------


class VirtualPupil:
    """One computer in the room: its own cookie jar and keep-alive connection."""

    def __init__(self, index: int, code: str, base: str, timeout: float):
        self.index = index
        self.code = code
        self.base = base
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for a bare IP address
            connector=aiohttp.TCPConnector(limit=2, keepalive_timeout=CLIENT_KEEPALIVE_S),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.csrf = ""
        self.response_id = 0
        self.seq_base = 0
        self.loaded_at = 0.0
        self.last_seq = 0

    def next_seq(self) -> int:
        # As the page's script: server time at page load plus the time since, increasing.
        seq = self.seq_base + round((time.monotonic() - self.loaded_at) * 1_000_000)
        self.last_seq = max(seq, self.last_seq + 1)
        return self.last_seq

    async def sign_in(self) -> None:
        """Type the code, confirm the name, open the first page; raise on any problem."""
        async with self.session.get(self.base + "/") as r:
            page = await r.text()
            _expect(r.status == 200, f"GET / {r.status}")
        async with self.session.post(
            self.base + "/", data={"code": self.code, "csrf_token": _token(FORM_CSRF, page)},
            allow_redirects=False,
        ) as r:
            await r.read()
            _expect(r.status == 302, f"POST / {r.status}")
        async with self.session.get(self.base + "/confirm") as r:
            page = await r.text()
            _expect(r.status == 200, f"GET /confirm {r.status}")
        async with self.session.post(
            self.base + "/confirm",
            data={"yes": "Yes, this is me", "csrf_token": _token(FORM_CSRF, page)},
            allow_redirects=False,
        ) as r:
            await r.read()
            _expect(r.status == 302, f"POST /confirm {r.status}")
        async with self.session.get(self.base + "/survey") as r:
            page = await r.text()
            _expect(r.status == 200 and "/survey/" in r.url.path, f"GET /survey {r.status} {r.url.path}")
        self.csrf = _token(META_CSRF, page)
        self.response_id = int(_token(DATA_RESPONSE, page))
        self.seq_base = int(_token(DATA_SEQ_BASE, page))
        self.loaded_at = time.monotonic()

    async def save(self, url: str, item: str, value: int, seq: int, stats: Stats,
                   ledger: Ledger | None) -> bool:
        """Send one answer; record it; return whether it was acknowledged."""
        key = (self.response_id, item)
        if ledger is not None:
            ledger.sending(key, seq, value)
        body = json.dumps(
            {"response": self.response_id, "answers": [{"item": item, "value": value, "seq": seq}]}
        )
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": self.csrf}
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            async with self.session.post(url, data=body, headers=headers) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            stats.record(t0, loop.time(), None, type(exc).__name__)
            return False
        stats.record(t0, loop.time(), status)
        if status == 200 and ledger is not None:
            ledger.acknowledged(key, seq, value)
        return status == 200

    async def close(self) -> None:
        await self.session.close()


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise BenchError(what)


def _token(pattern: re.Pattern, page: str) -> str:
    match = pattern.search(page)
    if not match:
        raise BenchError(f"page without {pattern.pattern[:30]}")
    return match.group(1)


# ----- CPU accounting (Linux /proc): where the two cores go -----------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pgid: int | None = None, comm: str | None = None) -> float:
    """CPU time of the processes in group `pgid`, or named `comm`, and their reaped children.

    Children's time counts because PostgreSQL backends and restarted gunicorn workers
    exit during a run: their time then shows in the parent's cutime/cstime.
    """
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # After pid and comm: [2] pgrp, [11] utime, [12] stime, [13] cutime, [14] cstime.
        if (pgid is not None and int(fields[2]) == pgid) or (comm is not None and name == comm):
            total += sum(int(f) for f in fields[11:15])
    return total / _TICK


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


@dataclass
class Cpu:
    client: float = 0.0
    server: float = 0.0
    database: float = 0.0
    machine: float = 0.0
    wall: float = 0.0

    @classmethod
    def now(cls, server_pgid: int) -> Cpu:
        return cls(time.process_time(), cpu_seconds(pgid=server_pgid), cpu_seconds(comm="postgres"),
                   machine_busy_seconds(), time.monotonic())

    def since(self, before: Cpu) -> Cpu:
        return Cpu(*(getattr(self, f) - getattr(before, f)
                     for f in ("client", "server", "database", "machine", "wall")))

    @property
    def other(self) -> float:
        """CPU used by everything else on the machine (other tests, browsers...)."""
        return max(0.0, self.machine - self.client - self.server - self.database)

    def cores(self, seconds: float) -> float:
        return seconds / self.wall if self.wall > 0 else 0.0


# ----- the load phases -----------------------------------------------------------


@dataclass
class Plan:
    pupils: int
    workers: int
    worker_class: str
    threads: int
    stagger_s: float  # pupils arrive over this window
    answers: int  # per pupil in the paced autosave phase (all statements)
    bare_seconds: float  # length of the paced bare phase
    pause: tuple[float, float]  # think time between clicks
    special_share: float  # pupils who also retry, change an answer, and send a stale retry
    sat_clients: int
    sat_seconds: float
    request_timeout: float
    wsgi: str  # what gunicorn serves
    paced_limit_s: float  # the paced autosave phase ends here even if pupils are behind


@dataclass
class Phase:
    stats: Stats
    cpu: Cpu


async def paced_phase(pupils: list[VirtualPupil], url: str, items: list[str], plan: Plan,
                      stats: Stats, *, ledger: Ledger | None = None, signin: Stats | None = None,
                      until: float | None = None, seed: int = 0) -> None:
    """Pupils arrive over the stagger window, (sign in,) and answer on a think-time schedule.

    Each answer is one request. A pupil clicks every 1.0-2.5 s; the save goes at the
    click and the pupil does not wait for it, as with the page's script (one save in
    flight at a time: a slow save delays the next one). With `until` (seconds from the
    start) pupils stop at that moment instead of after the last statement.
    """
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    n_special = round(plan.special_share * len(pupils)) if ledger is not None else 0
    special = set(rng.sample(range(len(pupils)), min(max(n_special, 1 if ledger else 0), len(pupils))))
    n = len(items)
    retry_at, change_at, changed = n // 5, (3 * n) // 5, (2 * n) // 5
    first_sent: list[float] = []
    last_done: list[float] = []
    t_start = loop.time()
    stop_at = t_start + until if until is not None else None

    async def one(p: VirtualPupil, offset: float, prng: random.Random) -> None:
        await asyncio.sleep(offset)
        if signin is not None:
            t0 = loop.time()
            try:
                await p.sign_in()
            except BenchError as exc:
                signin.record(t0, loop.time(), None, f"sign-in refused: {exc}"[:70])
                return
            except (aiohttp.ClientError, TimeoutError) as exc:
                signin.record(t0, loop.time(), None, type(exc).__name__)
                return
            signin.record(t0, loop.time(), 200)
        elif not p.response_id:
            return
        click = loop.time() + prng.uniform(*plan.pause)  # reading the first statement
        await asyncio.sleep(click - loop.time())
        first_sent.append(loop.time())
        given: list[tuple[str, int, int]] = []
        for index in range(n if stop_at is None else 10**6):
            item = items[index % n]
            value, seq = prng.randint(1, 4), p.next_seq()
            given.append((item, value, seq))
            ok = await p.save(url, item, value, seq, stats, ledger)
            if p.index in special and index == retry_at and ok:
                # The acknowledgement was lost on the way: the page sends the same again.
                await p.save(url, item, value, seq, stats, ledger)
            if p.index in special and index == change_at:
                # Back to an earlier statement for a different answer; then the first
                # save of that statement arrives late (a network retry): it must not win.
                old_item, old_value, old_seq = given[changed]
                await p.save(url, old_item, old_value % 4 + 1, p.next_seq(), stats, ledger)
                await p.save(url, old_item, old_value, old_seq, stats, ledger)
            if stop_at is None and index == n - 1:
                break
            click += prng.uniform(*plan.pause)
            if stop_at is not None and click >= stop_at:
                break
            await asyncio.sleep(max(0.0, click - loop.time()))
        last_done.append(loop.time())

    tasks = [
        asyncio.create_task(one(p, rng.uniform(0, plan.stagger_s), random.Random(seed * 7919 + p.index)))
        for p in pupils
    ]
    stats.clients = len(tasks)
    # A healthy server lets every pupil finish well inside the limit; an overloaded one
    # leaves pupils behind their schedule, and they are stopped (counted as unfinished)
    # so that the run always ends.
    limit = until + plan.request_timeout if until is not None else plan.paced_limit_s
    stats.unfinished = await _gather_bounded(tasks, limit, stats)
    if first_sent:
        # Pupils stopped at the limit were still answering until then.
        end = max(last_done) if last_done and not stats.unfinished else loop.time()
        stats.started, stats.finished = min(first_sent), end
        last = stop_at if stop_at is not None else min(last_done, default=end)
        stats.steady = (max(first_sent), last)


async def saturate(pupils: list[VirtualPupil], url: str, items: list[str], plan: Plan,
                   stats: Stats, ledger: Ledger | None, seed: int) -> None:
    """`sat_clients` clients sending answers back to back, with no pauses, for `sat_seconds`."""
    loop = asyncio.get_running_loop()
    clients = [p for p in pupils if p.response_id][: plan.sat_clients]
    deadline = loop.time() + plan.sat_seconds

    async def one(p: VirtualPupil, prng: random.Random) -> None:
        i = prng.randrange(len(items))
        while loop.time() < deadline:
            await p.save(url, items[i % len(items)], prng.randint(1, 4), p.next_seq(), stats, ledger)
            i += 1

    stats.started = loop.time()
    tasks = [asyncio.create_task(one(p, random.Random(seed * 7919 + p.index))) for p in clients]
    stats.clients = len(tasks)
    stats.unfinished = await _gather_bounded(tasks, plan.sat_seconds + plan.request_timeout + 2, stats)
    stats.finished = loop.time()


async def _gather_bounded(tasks: list[asyncio.Task], limit: float, stats: Stats) -> int:
    """Wait for `tasks` at most `limit` seconds; cancel the rest; return how many."""
    try:
        done, pending = await asyncio.wait(tasks, timeout=limit)
    except asyncio.CancelledError:
        # The run's safety net fired: stop every client before the sessions are closed.
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=5)
        raise
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            stats.exceptions[f"client crashed: {type(task.exception()).__name__}"] += 1
    return len(pending)


@dataclass
class Result:
    backend: str
    pupils: int
    signin: Stats
    auto: Phase
    bare: Phase
    auto_sat: Phase
    bare_sat: Phase
    paced_check: Check
    final_check: Check
    setup_s: float
    wall_s: float
    server_errors: list[str]
    paced_limit_s: float


async def load_phases(server: Server, url: str, codes: list[str], items: list[str], plan: Plan,
                      progress) -> tuple:
    base = server.base
    pgid = server.proc.pid
    api, bare_url = base + "/survey/api/answers", base + "/_bench/bare"
    pupils = [VirtualPupil(i, code, base, plan.request_timeout) for i, code in enumerate(codes)]
    ledger = Ledger()
    signin = Stats()
    phases: dict[str, Phase] = {}

    async def measured(name: str, coro) -> None:
        before = await asyncio.to_thread(Cpu.now, pgid)
        stats = Stats()
        phases[name] = Phase(stats, Cpu())
        await coro(stats)
        after = await asyncio.to_thread(Cpu.now, pgid)
        phases[name].cpu = after.since(before)

    try:
        progress(f"paced autosave: {len(pupils)} pupils sign in over {plan.stagger_s:.0f} s "
                 f"and answer {plan.answers} statements each")
        await measured("auto", lambda s: paced_phase(
            pupils, api, items[: plan.answers], plan, s, ledger=ledger, signin=signin, seed=1))
        paced_check = await asyncio.to_thread(check_database, url, ledger)
        progress(f"paced bare: {len(pupils)} pupils, same pacing, {plan.bare_seconds:.0f} s")
        await measured("bare", lambda s: paced_phase(
            pupils, bare_url, items, plan, s, until=plan.bare_seconds, seed=2))
        progress(f"saturation: {plan.sat_clients} clients with no pauses, "
                 f"{plan.sat_seconds:.0f} s autosave then {plan.sat_seconds:.0f} s bare")
        await measured("auto_sat", lambda s: saturate(pupils, api, items, plan, s, ledger, 3))
        await measured("bare_sat", lambda s: saturate(pupils, bare_url, items, plan, s, None, 4))
        final_check = await asyncio.to_thread(check_database, url, ledger)
    finally:
        await asyncio.gather(*(p.close() for p in pupils), return_exceptions=True)
    return signin, phases, paced_check, final_check


def run_backend(backend: str, plan: Plan, budget: float) -> Result:
    """Set up, load and check one backend within `budget` seconds (set-up included)."""
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{backend} {time.monotonic() - started:5.1f}s] {message}", flush=True)

    progress("preparing a fresh database")
    database = Database(backend)
    server = None
    try:
        run_flask(["db", "upgrade"], server_env(database.url))
        codes, items = create_pupils(database.url, plan.pupils)
        progress(f"{len(codes)} pupils with codes; starting gunicorn "
                 f"({plan.workers} {plan.worker_class} workers)")
        server = Server(database.url, plan.workers, plan.worker_class, plan.threads, database.tmpdir,
                        plan.wsgi)
        server.wait_ready()
        setup_s = time.monotonic() - started
        # What is left after set-up pays for the phases; a slow set-up (a busy machine)
        # shortens the paced autosave phase rather than the whole run overrunning.
        left = budget - setup_s
        others = plan.bare_seconds + 2 * plan.sat_seconds + 8  # + checks and stopping
        if left - others < plan.paced_limit_s:
            plan = replace(plan, paced_limit_s=max(20.0, left - others))
            progress(f"set-up was slow: paced autosave phase limited to {plan.paced_limit_s:.0f} s")
        # Every phase bounds itself; this is only the safety net behind them.
        safety = plan.paced_limit_s + others + 3 * plan.request_timeout

        async def bounded():
            return await asyncio.wait_for(
                load_phases(server, database.url, codes, items, plan, progress), safety
            )

        try:
            signin, phases, paced_check, final_check = asyncio.run(bounded())
        except TimeoutError as exc:
            raise BenchError(f"load phases did not finish within {safety:.0f} s") from exc
        server_errors = [
            line for line in server.log_tail(2000).splitlines()
            if any(word in line for word in ("Error", "ERROR", "Traceback", "CRITICAL", "WORKER TIMEOUT"))
        ]
        return Result(
            backend, len(codes), signin, phases["auto"], phases["bare"], phases["auto_sat"],
            phases["bare_sat"], paced_check, final_check, setup_s, time.monotonic() - started,
            server_errors, plan.paced_limit_s,
        )
    finally:
        if server is not None:
            server.stop()
        database.close()
        clear_sessions()


# ----- the report ----------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def report(r: Result, plan: Plan) -> list[tuple[str, bool]]:
    """Print one backend's table; return the targets as (label, passed)."""
    a, b, asat, bsat = r.auto.stats, r.bare.stats, r.auto_sat.stats, r.bare_sat.stats
    title = "SQLite" if r.backend == "sqlite" else "PostgreSQL"
    print()
    print(f"=== {title}: {r.pupils} pupils, gunicorn {plan.workers} {plan.worker_class} workers"
          + (f" x {plan.threads} threads" if plan.worker_class == "gthread" else "")
          + f" (set-up {r.setup_s:.0f} s, backend total {r.wall_s:.0f} s) ===")
    s = r.signin
    print(f"sign-in (5 requests each): {s.ok} ok, {s.errors} failed; "
          f"p50 {_ms(s.percentile(50))} ms, p95 {_ms(s.percentile(95))} ms, "
          f"p99 {_ms(s.percentile(99))} ms")
    rows = [
        ("paced: answers/s, steady window", f"{a.steady_rate():.1f}", f"{b.steady_rate():.1f}"),
        ("paced: answers/s, whole phase", f"{a.overall_rate():.1f}", f"{b.overall_rate():.1f}"),
        ("paced: requests (acknowledged)", f"{a.requests} ({a.ok})", f"{b.requests} ({b.ok})"),
        ("paced: latency p50 / p95 / p99 ms",
         f"{_ms(a.percentile(50))} / {_ms(a.percentile(95))} / {_ms(a.percentile(99))}",
         f"{_ms(b.percentile(50))} / {_ms(b.percentile(95))} / {_ms(b.percentile(99))}"),
        ("paced: latency p50 / p95 / p99, steady window",
         f"{_ms(a.percentile(50, True))} / {_ms(a.percentile(95, True))} / {_ms(a.percentile(99, True))}",
         f"{_ms(b.percentile(50, True))} / {_ms(b.percentile(95, True))} / {_ms(b.percentile(99, True))}"),
        ("paced: errors", str(a.errors), str(b.errors)),
        (f"saturated ({plan.sat_clients} clients): answers/s",
         f"{asat.overall_rate():.1f}", f"{bsat.overall_rate():.1f}"),
        ("saturated: latency p50 / p95 / p99 ms",
         f"{_ms(asat.percentile(50))} / {_ms(asat.percentile(95))} / {_ms(asat.percentile(99))}",
         f"{_ms(bsat.percentile(50))} / {_ms(bsat.percentile(95))} / {_ms(bsat.percentile(99))}"),
        ("saturated: errors", str(asat.errors), str(bsat.errors)),
    ]
    for name, phase in (("paced", (r.auto, r.bare)), ("saturated", (r.auto_sat, r.bare_sat))):
        per_answer, cores = [], []
        for ph in phase:
            n, c = max(ph.stats.ok, 1), ph.cpu
            per_answer.append(f"{c.server / n * 1000:.2f} / {c.database / n * 1000:.2f} / "
                              f"{c.client / n * 1000:.2f}")
            cores.append(f"{c.cores(c.server):.2f}/{c.cores(c.database):.2f}/"
                         f"{c.cores(c.client):.2f}/{c.cores(c.other):.2f}")
        rows.append((f"{name}: CPU ms per answer app/db/client", *per_answer))
        rows.append((f"{name}: cores used app/db/client/other", *cores))
    width = max(len(row[0]) for row in rows) + 2
    print(f"{'':{width}}{'autosave':>26}{'bare':>26}")
    for name, x, y in rows:
        print(f"{name:{width}}{x:>26}{y:>26}")
    for label, c in (("after paced phase", r.paced_check), ("after saturation", r.final_check)):
        print(f"database {label}: acknowledged distinct (response, item) {c.acked_pairs}, "
              f"rows in answers {c.rows}, answers lost {c.lost}, stale values {c.stale}"
              + (f", newer unacknowledged saves stored {c.unacked_newer}" if c.unacked_newer else "")
              + (f", rows of saves cut off at a time limit (stored, never acknowledged) {c.unacked_rows}"
                 if c.unacked_rows else ""))
    print(f"paced autosave (sign-ins included in its CPU): {a.clients - a.unfinished}/{a.clients} "
          f"pupils answered all {plan.answers} statements within {r.paced_limit_s:.0f} s"
          + (f"; {a.unfinished} were still behind schedule and were stopped" if a.unfinished else ""))
    busiest = max(ph.cpu.cores(ph.cpu.other) for ph in (r.auto, r.bare, r.auto_sat, r.bare_sat))
    if busiest > 0.25:
        print(f"WARNING: other processes used up to {busiest:.2f} of the {os.cpu_count()} cores "
              "during a phase: figures are lower than on a quiet machine.")
    paced_ratio = _ratio(a.steady_rate(), b.steady_rate())
    sat_ratio = _ratio(asat.overall_rate(), bsat.overall_rate())
    print(f"autosave / bare: paced {paced_ratio:.2f}, saturated {sat_ratio:.2f}")
    if a.errors or asat.errors or s.errors:
        print(f"error detail: sign-in {s.error_text()}; paced {a.error_text()}; "
              f"saturated {asat.error_text()}")
    if b.errors or bsat.errors:
        print(f"bare error detail: paced {b.error_text()}; saturated {bsat.error_text()}")
    if r.server_errors:
        print(f"gunicorn log: {len(r.server_errors)} error line(s), first ones:")
        for line in r.server_errors[:5]:
            print(f"    {line[:160]}")
    p95 = a.percentile(95)
    errors = s.errors + a.errors + asat.errors + a.unfinished + asat.unfinished
    lost = r.paced_check.lost + r.final_check.lost
    stale = r.paced_check.stale + r.final_check.stale
    targets = [
        (f"paced autosave >= {TARGET_RATE:.0f} answers/s (steady): {a.steady_rate():.1f}",
         a.steady_rate() >= TARGET_RATE),
        (f"paced autosave p95 < {TARGET_P95_MS:.0f} ms: {_ms(p95)} ms",
         p95 is not None and p95 < TARGET_P95_MS),
        (f"0 errors (sign-in, autosave, pupils unable to finish): {errors}", errors == 0),
        (f"0 answers lost, 0 stale values: {lost} lost, {stale} stale", lost == 0 and stale == 0),
        (f"saturated autosave >= {TARGET_BARE_RATIO} x bare: {sat_ratio:.2f}",
         sat_ratio >= TARGET_BARE_RATIO),
    ]
    print("targets:")
    for label, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return targets


# ----- main ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=None, help="virtual pupils (default 300)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default=DEFAULT_WORKER_CLASS)
    parser.add_argument("--sat-seconds", type=float, default=None,
                        help="length of each saturation phase (default 8, quick 3)")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"threads per gthread worker (default {THREADS})")
    parser.add_argument("--wsgi", default="wsgi:app",
                        help="what gunicorn serves (default wsgi:app); to compare a variant of the app")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    args = parser.parse_args(argv)
    if args.pupils is None:
        args.pupils = 30 if args.quick else 300
    if args.pupils < 1:
        parser.error("--pupils must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quick = args.quick
    plan = Plan(
        pupils=args.pupils, workers=args.workers, worker_class=args.worker_class, threads=args.threads,
        stagger_s=2.0 if quick else 10.0, answers=10 if quick else 50,
        bare_seconds=8.0 if quick else 20.0, pause=(1.0, 2.5), special_share=0.05,
        sat_clients=min(50, args.pupils), sat_seconds=args.sat_seconds or (3.0 if quick else 8.0), request_timeout=15.0,
        wsgi=args.wsgi,
        # A healthy run ends by ~108 s (10 s arrivals + 50 think times, the slowest of 300
        # pupils); the limit keeps both backends inside six minutes when it is not.
        paced_limit_s=40.0 if quick else 115.0,
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = time.monotonic()
    print(f"Autosave benchmark: {plan.pupils} pupils, backends {', '.join(backends)}, "
          f"think time {plan.pause[0]}-{plan.pause[1]} s, {plan.answers} answers each"
          + (f", serving {plan.wsgi}" if plan.wsgi != "wsgi:app" else "")
          + (" (quick)" if quick else ""), flush=True)
    results: list[Result] = []
    failed: list[str] = []
    before = machine_busy_seconds()
    time.sleep(1.0)
    busy = machine_busy_seconds() - before
    print(f"Machine before start: {busy:.2f} of {os.cpu_count()} cores busy with other work"
          + (" (results will be lower than on a quiet machine)" if busy > 0.25 else ""), flush=True)
    # Both backends inside six minutes at 300 pupils: the budget is shared out as we go.
    deadline = started + (QUICK_BUDGET_S if quick else RUN_BUDGET_S)
    for i, backend in enumerate(backends):
        budget = (deadline - time.monotonic()) / (len(backends) - i)
        try:
            results.append(run_backend(backend, plan, budget))
        except (BenchError, subprocess.TimeoutExpired) as exc:
            failed.append(backend)
            print(f"\n!!! {backend}: benchmark could not run: {exc}", flush=True)
        except Exception as exc:  # the app failing to start or set up is a result too
            failed.append(backend)
            print(f"\n!!! {backend}: benchmark could not run: {type(exc).__name__}: {exc}", flush=True)
    all_targets = []
    for result in results:
        all_targets += [(result.backend, label, ok) for label, ok in report(result, plan)]
    print()
    for backend in failed:
        print(f"{backend}: NOT RUN (see above)")
    passed = sum(1 for _, _, ok in all_targets if ok)
    verdict = "ALL TARGETS PASS" if all_targets and passed == len(all_targets) else (
        f"{len(all_targets) - passed} TARGET(S) FAIL")
    print(f"Summary: {passed}/{len(all_targets)} targets pass across {len(results)} backend(s): "
          f"{verdict}. Wall time {time.monotonic() - started:.0f} s.")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
