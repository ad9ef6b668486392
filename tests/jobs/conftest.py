"""The tests about the queue itself: the app queues on a real Huey SQLite file of the
test's own, and the test starts the worker as a process of its own (`flask worker`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from survey_app.db import db
from tests.conftest import ROOT, _reset_tables, make_test_app
from tests.data.test_backup import stamped  # noqa: F401  (a fixture: the database at the head revision)

LEASE = 2.0


@pytest.fixture
def queue_settings(database_url, tmp_path):
    return {"JOBS_QUEUE": "sqlite", "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3"),
            "JOBS_QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}", "JOB_LEASE_SECONDS": LEASE,
            "JOB_RETRY_DELAY_SECONDS": 0.2, "SQLALCHEMY_DATABASE_URI": database_url}


@pytest.fixture
def app(database_url, queue_settings):
    """The test app, queueing for a real worker (not immediate)."""
    from survey_app import jobs  # noqa: F401
    from tests.jobs import worker_app  # noqa: F401  (the slow test jobs, for enqueue)

    app = make_test_app(database_url, **queue_settings)
    with app.app_context():
        _reset_tables(database_url)
        yield app
        db.session.remove()
        db.engine.dispose()


class Worker:
    """A worker process (`flask --app tests.jobs.worker_app:create worker`)."""

    def __init__(self, settings: dict, log_path):
        env = {**os.environ, "SURVEY_ENV": "testing", "SECRET_KEY": "test-secret-key",
               "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"], "PYTHONPATH": str(ROOT)}
        env.update({k: str(v) for k, v in settings.items() if k.startswith("JOB")})
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "tests.jobs.worker_app:create", "worker", "--workers", "2"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def start_worker(queue_settings, tmp_path):
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(queue_settings, tmp_path / "worker.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(check, timeout: float, what: str, log_path=None):
    """Poll `check()` until it returns a true value (returned) or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    log = log_path.read_text()[-3000:] if log_path and log_path.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")
