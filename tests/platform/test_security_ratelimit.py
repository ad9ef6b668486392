"""Access-code guessing is held by a rate limit that every web worker shares (Redis).

gunicorn runs the production configuration (gunicorn.conf.py) with 4 workers on a
temporary SQLite database, its rate limits and sessions in Redis at 127.0.0.1:6379
(database 9, under a key prefix of this run's own, removed afterwards). One address then tries 200 wrong
codes, each on a new connection, so they land on different workers: CODE_ATTEMPT_LIMIT
(10 a minute) lets 10 through in all, not 10 per worker, and every worker answers the
rest with 429. Skipped when Redis is not running. About 10 to 20 s.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
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
from collections import Counter
from pathlib import Path

import pytest

from survey_app.db import db
from tests.conftest import ROOT, World, make_test_app
from tests.security_support import record_figures

HOST = "127.0.0.1"
REDIS_DB = 9
WORKERS = 4
GUESSES = 200
SEQUENTIAL = 30  # the first guesses one after another (so the count is exact), the rest 16 at once
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ACCESS_LINE = re.compile(r'"POST / HTTP/1\.[01]" (\d{3}) .* <(\d+)>\s*$')


def _redis():
    redis = pytest.importorskip("redis")
    client = redis.Redis(host=HOST, port=6379, db=REDIS_DB, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {HOST}:6379 ({exc})")
    return client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Browser:
    """One attacker's browser: a cookie jar, and a new TCP connection for every request."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body,  # noqa: S310 - http://127.0.0.1
                                         headers={"Connection": "close"})
        try:
            with self.opener.open(request, timeout=15) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def _wait_ready(proc, base: str, log: Path, workers: int, timeout: float = 60) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited:\n" + log.read_text(errors="replace")[-3000:]
        booted = log.read_text(errors="replace").count("Booting worker")
        if booted >= workers:
            with contextlib.suppress(OSError), opener.open(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.2)
    raise AssertionError("gunicorn not ready:\n" + log.read_text(errors="replace")[-3000:])


def _by_worker(access_log: Path) -> dict[str, Counter]:
    """{worker pid: Counter of statuses} of the code posts in gunicorn's access log."""
    found: dict[str, Counter] = {}
    for line in access_log.read_text(errors="replace").splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            found.setdefault(match.group(2), Counter())[int(match.group(1))] += 1
    return found


def _refusing(by_worker: dict[str, Counter]) -> list[str]:
    return sorted(pid for pid, counts in by_worker.items() if counts[429])


def test_code_guessing_is_held_across_four_workers(tmp_path):
    redis = _redis()
    prefix = f"sectest-{secrets.token_hex(6)}"
    url = "sqlite:///" + str(tmp_path / "ratelimit.sqlite3")
    app = make_test_app(url)
    with app.app_context():
        db.create_all()
        world = World(app, pupils=2)
        real_code = world.code_of(0)
        limit = app.config["CODE_ATTEMPT_LIMIT"]
        db.session.remove()
        db.engine.dispose()
    per_minute = int(limit.split(" per minute")[0])

    port = _free_port()
    base = f"http://{HOST}:{port}"
    server_log, access_log = tmp_path / "gunicorn.log", tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "TRUSTED_PROXIES", "RATELIMIT_STORAGE_URI", "SESSION_REDIS_URL")}
    env.update(BIND=f"{HOST}:{port}", WEB_CONCURRENCY=str(WORKERS), GUNICORN_THREADS="2", DATABASE_URL=url,
               SURVEY_ENV="production", SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_SECURE="0",
               GUNICORN_ACCESS_LOG=str(access_log), PYTHONUNBUFFERED="1",
               SESSION_REDIS_URL=f"redis://{HOST}:6379/{REDIS_DB}", SESSION_KEY_PREFIX=f"{prefix}-session:")
    settings = {"RATELIMIT_STORAGE_URI": f"redis://{HOST}:6379/{REDIS_DB}", "RATELIMIT_KEY_PREFIX": prefix}
    app_spec = f"survey_app:create_app({json.dumps(settings)})"
    with server_log.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter, config and app
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app_spec],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(proc, base, server_log, WORKERS)
        attacker = Browser(base)
        status, page = attacker.request("/")
        assert status == 200
        token = CSRF.search(page).group(1)
        statuses: list[int] = []
        lock = threading.Lock()

        def guess(n: int) -> None:
            wrong = f"ZZ{n:03d}QQ"  # well formed, and (with two real codes issued) never a real one
            status, _ = attacker.request("/", {"code": wrong, "csrf_token": token})
            with lock:
                statuses.append(status)

        started = time.monotonic()
        for n in range(SEQUENTIAL):
            guess(n)
        queue = list(range(SEQUENTIAL, GUESSES))

        def worker() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    n = queue.pop()
                guess(n)

        def burst() -> None:
            threads = [threading.Thread(target=worker) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

        burst()
        # Which worker answers is up to the kernel: keep guessing (in bursts of 50) until
        # every worker has refused some, so the figures show all four holding the limit.
        while len(_refusing(_by_worker(access_log))) < WORKERS and len(statuses) < 5 * GUESSES:
            queue.extend(range(len(statuses), len(statuses) + 50))
            burst()
        took = time.monotonic() - started
        # A pupil with a real code from the same address waits too: the limit is per address.
        real = Browser(base)
        _, real_page = real.request("/")
        status_real, _ = real.request("/", {"code": real_code, "csrf_token": CSRF.search(real_page).group(1)})
        keys = list(redis.scan_iter(match=f"*{prefix}*"))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        for key in redis.scan_iter(match=f"*{prefix}*"):
            redis.delete(key)

    by_worker = _by_worker(access_log)
    through = sum(1 for s in statuses if s == 400)
    refused = sum(1 for s in statuses if s == 429)
    refusing_workers = _refusing(by_worker)
    detail = ", ".join(f"worker {i + 1}: {dict(sorted(c.items()))}" for i, c in enumerate(by_worker.values()))
    record_figures(
        "rate_limit_codes[4-workers-redis]",
        f"rate limit ({WORKERS} gunicorn workers, Redis): {len(statuses)} wrong codes from one address "
        f"in {took:.1f} s, "
        f"{through} let through (limit {per_minute} a minute), {refused} refused with 429 by "
        f"{len(refusing_workers)} workers ({detail}); then a real code from that address: {status_real}",
        guesses=len(statuses), let_through=through, refused=refused, workers=WORKERS,
        refusing_workers=len(refusing_workers), per_worker={str(i + 1): dict(c) for i, c in
                                                             enumerate(by_worker.values())},
        real_code_after=status_real, redis_keys=len(keys),
    )
    assert len(statuses) >= GUESSES
    assert keys, "no rate-limit keys in Redis: the workers did not share their counts there"
    assert statuses[:per_minute] == [400] * per_minute  # wrong codes, answered in words
    assert statuses[per_minute:SEQUENTIAL] == [429] * (SEQUENTIAL - per_minute)
    assert through == per_minute and refused == len(statuses) - per_minute, Counter(statuses)
    assert len(refusing_workers) == WORKERS, by_worker
    assert status_real == 429
