"""Web workers hold no state: gunicorn (gunicorn.conf.py, 2 workers) serves a pupil, one
worker is killed with SIGKILL in the middle of the pupil's saves, and the pupil carries
on (on the other worker and the replacement) without signing in again; every answer is
stored with the newest value given.

Runs in the normal suite on a temporary SQLite database, with the production profile's
sessions in Redis (database 10, under a prefix of this run's own, removed afterwards;
skipped when Redis is not running). About 10 to 20 s on a quiet machine.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import json
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from survey_app.db import db
from tests.conftest import ROOT, World, make_test_app

HOST = "127.0.0.1"
FORM_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
DATA_RESPONSE = re.compile(r'data-response="(\d+)"')
DATA_SEQ_BASE = re.compile(r'data-seq-base="(\d+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    """The live (not zombie) child processes of `pid`, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _holder_of(pids: set[int], port: int, client_port: int) -> int | None:
    """The process among `pids` holding the server side of the connection from `client_port`."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
        if int(local, 16) == port and int(remote, 16) == client_port and fields[9] != "0":
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


class Gunicorn:
    """gunicorn -c gunicorn.conf.py on a free port, in its own process group."""

    def __init__(self, url: str, logdir: Path, redis_url: str, session_prefix: str):
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        env = dict(os.environ)
        env.update(
            BIND=self.base.removeprefix("http://"), WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
            DATABASE_URL=url, SURVEY_ENV="production", SECRET_KEY=secrets.token_hex(32),
            SESSION_COOKIE_SECURE="0",  # plain http on the loopback address in this test
            REDIS_URL=redis_url, SESSION_KEY_PREFIX=session_prefix,
            # No rate limits: this test is about workers, and gets by without their keys.
            RATELIMIT_ENABLED="0", RATELIMIT_STORAGE_URI="memory://", PYTHONUNBUFFERED="1",
        )
        self.log_path = logdir / "gunicorn.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and config
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def workers(self) -> set[int]:
        return _children(self.proc.pid)

    def wait_ready(self, workers: int, timeout: float = 30) -> set[int]:
        """Wait until `workers` workers run and /healthz answers; return their pids."""
        deadline = time.monotonic() + timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "gunicorn exited:\n" + self.log_tail()
            pids = self.workers()
            if len(pids) >= workers:
                with contextlib.suppress(OSError), opener.open(self.base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return pids
            time.sleep(0.1)
        raise AssertionError(f"gunicorn not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.log.close()


class Pupil:
    """A browser: its own cookie jar; re-sends a save that got no answer, as the page does."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar),
        )
        self.retries = 0
        self.failures: list[str] = []

    def request(self, path: str, data: dict | None = None, json_body: dict | None = None,
                headers: dict | None = None, attempts: int = 40) -> tuple[int, str, str]:
        """Return (status, final URL, body), retrying when the server gave no answer."""
        body = None
        headers = dict(headers or {})
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        last = ""
        for _ in range(attempts):
            req = urllib.request.Request(self.base + path, data=body, headers=headers)  # noqa: S310 - http://127.0.0.1
            try:
                with self.opener.open(req, timeout=10) as resp:
                    return resp.status, resp.url, resp.read().decode()
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return exc.code, exc.url, exc.read().decode()
                last = f"HTTP {exc.code}"
            except (OSError, http.client.HTTPException) as exc:  # reset, refused, no reply
                last = f"{type(exc).__name__}: {exc}"
            self.retries += 1
            self.failures.append(last)
            time.sleep(0.1)
        raise AssertionError(f"{path}: no answer after {attempts} tries ({last})")


def _find(pattern: re.Pattern, text: str) -> str:
    match = pattern.search(text)
    assert match, f"{pattern.pattern} not found"
    return match.group(1)


def test_killing_a_worker_mid_survey_loses_nothing(tmp_path):
    from tests.platform.test_security_sessions import REDIS_URL, redis_or_skip

    redis = redis_or_skip()
    prefix = f"workerkill-{secrets.token_hex(6)}:"
    url = "sqlite:///" + str(tmp_path / "workers.sqlite3")
    # Workers build the app without touching the database: start them first, and build
    # the database while they boot.
    server = Gunicorn(url, tmp_path, REDIS_URL, prefix)
    try:
        app = make_test_app(url)
        with app.app_context():
            upgrade()
            world = World(app, pupils=1)
            code = world.code_of(0)
            items = [s.id for s in world.q.statements]
            scale = sorted(world.q.scale_values)
            db.session.remove()
            db.engine.dispose()

        original = server.wait_ready(2, timeout=60)
        assert len(original) == 2
        pupil = Pupil(server.base)

        status, _, page = pupil.request("/")
        assert status == 200
        status, where, page = pupil.request("/", data={"code": code, "csrf_token": _find(FORM_CSRF, page)})
        assert status == 200 and where.endswith("/confirm"), where
        status, where, page = pupil.request(
            "/confirm", data={"yes": "Yes, this is me", "csrf_token": _find(FORM_CSRF, page)})
        assert status == 200 and "/survey/" in where, where
        response_id = int(_find(DATA_RESPONSE, page))
        seq_base = int(_find(DATA_SEQ_BASE, page))
        csrf = _find(META_CSRF, page)

        # The newest value sent per statement; every save is retried until acknowledged.
        plan = [(item, scale[i % len(scale)]) for i, item in enumerate(items)]
        plan += [(item, scale[(i + 1) % len(scale)]) for i, item in enumerate(items[:6])]  # changes
        expected = {}
        todo: queue.Queue = queue.Queue()
        for n, (item, value) in enumerate(plan):
            expected[item] = value
            todo.put((item, value, seq_base + 1000 * (n + 1)))
        acked = []
        problems: list[str] = []

        def saver() -> None:
            while True:
                try:
                    item, value, seq = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    status, _, body = pupil.request(
                        "/survey/api/answers",
                        json_body={"response": response_id,
                                   "answers": [{"item": item, "value": value, "seq": seq}]},
                        headers={"X-CSRFToken": csrf, "Accept": "application/json"},
                    )
                    if status != 200:
                        problems.append(f"{item}: HTTP {status} {body[:200]}")
                    acked.append(item)
                    time.sleep(0.05)  # a quick pupil, four tabs
                except BaseException as exc:  # reported below, not lost in the thread
                    problems.append(f"{item}: {exc}")

        threads = [threading.Thread(target=saver) for _ in range(4)]
        for thread in threads:
            thread.start()
        # One worker dies in the middle of one of the pupil's saves: the save's headers and
        # half its body have arrived, the worker holding it is found and killed. The other
        # savers carry on meanwhile, on the other worker and the replacement.
        while len(acked) < len(plan) // 3 and any(t.is_alive() for t in threads):
            time.sleep(0.005)
        last_item, last_value = items[-1], scale[-1] if expected[items[-1]] != scale[-1] else scale[0]
        body = json.dumps({"response": response_id, "answers": [
            {"item": last_item, "value": last_value, "seq": seq_base + 10**9}]}).encode()
        cookies = "; ".join(f"{c.name}={c.value}" for c in pupil.jar)
        head = (f"POST /survey/api/answers HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n"
                f"Cookie: {cookies}\r\nX-CSRFToken: {csrf}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        with socket.create_connection((HOST, server.port), timeout=10) as cut:
            cut.sendall(head + body[: len(body) // 2])
            victim = None
            deadline = time.monotonic() + 10
            while victim is None and time.monotonic() < deadline:
                victim = _holder_of(original, server.port, cut.getsockname()[1])
                time.sleep(0.01)
            assert victim is not None, "no worker took the half-sent save"
            os.kill(victim, signal.SIGKILL)
            killed_at = len(acked)
            with contextlib.suppress(OSError):
                cut.sendall(body[len(body) // 2:])
            try:
                reply = cut.recv(65536)
            except OSError:  # reset by the dead worker's kernel socket
                reply = b""
        assert reply == b"", f"the killed worker answered: {reply[:200]!r}"
        # The page re-sends a save that got no reply; now another worker takes it.
        status, _, _ = pupil.request("/survey/api/answers", data=None, json_body=json.loads(body),
                                     headers={"X-CSRFToken": csrf, "Accept": "application/json"})
        assert status == 200
        expected[last_item] = last_value
        for thread in threads:
            thread.join(timeout=60)
        assert not problems, problems
        assert len(acked) == len(plan)

        assert killed_at < len(plan), "the worker was killed before the saves ended"

        # The same signed-in pupil carries on: check page and finish, on whichever worker.
        status, _, page = pupil.request("/survey/check")
        assert status == 200 and "You have answered every statement" in page, page[:500]
        status, where, page = pupil.request("/survey/finish", data={"csrf_token": _find(FORM_CSRF, page)})
        assert status == 200 and where.endswith("/thanks"), where

        now_running = server.wait_ready(2, timeout=60)
        assert victim not in now_running and len(now_running) == 2, "the killed worker was replaced"
    finally:
        server.stop()
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
        redis.close()

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(
                sa.text("SELECT item, value FROM answers WHERE response_id = :r"), {"r": response_id}).all())
            finished = conn.execute(sa.text("SELECT finished_at FROM responses WHERE id = :r"),
                                    {"r": response_id}).scalar()
            scores = conn.execute(sa.text("SELECT count(*) FROM factor_scores WHERE response_id = :r"),
                                  {"r": response_id}).scalar()
    finally:
        engine.dispose()
    print(f"\n{len(plan) + 1} saves; worker {victim} killed holding a half-received save; "
          f"{pupil.retries} other saves re-sent after it died "
          f"({sorted(set(f.split(':')[0] for f in pupil.failures))}); "
          f"{len(stored)} answers stored of {len(expected)}")
    assert stored == expected  # every answer, each with the newest value the pupil gave
    assert finished is not None and scores > 0
