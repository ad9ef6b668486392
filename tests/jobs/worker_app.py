"""The app a test's worker process runs (`flask --app tests.jobs.worker_app:create worker`):
the real app with one extra job, `test.slow`, whose length the test chooses per attempt,
so that a worker can be killed while it is surely in the middle of a job."""

from __future__ import annotations

import time

from survey_app import create_app
from survey_app.jobs import JobContext, task


@task("test.slow", max_attempts=2, label="Slow test job")
def slow(context: JobContext, seconds: list[float]) -> dict:
    """Sleep `seconds[attempt - 1]` in ten steps, reporting progress; return the attempt."""
    attempt = context.job.attempts
    length = seconds[min(attempt, len(seconds)) - 1]
    for step in range(10):
        context.progress(step / 10, f"Step {step + 1} of 10")
        time.sleep(length / 10)
    return {"attempt": attempt}


@task("test.slow_once", max_attempts=1, label="Slow test job, one attempt")
def slow_once(context: JobContext, seconds: list[float]) -> dict:
    return slow(context, seconds)


@task("test.flaky", max_attempts=3, label="Flaky test job")
def flaky(context: JobContext, fail_times: int) -> dict:
    """Meet a passing problem on the first `fail_times` attempts, then succeed."""
    from sqlalchemy.exc import OperationalError

    if context.job.attempts <= fail_times:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    return {"attempt": context.job.attempts}


def create():
    """The app for `flask --app tests.jobs.worker_app:create worker`."""
    return create_app()
