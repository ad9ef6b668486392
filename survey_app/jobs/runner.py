"""Running a job in the worker: claim it, keep its heartbeat, report progress, retry a
passing failure, record the outcome; and find jobs whose worker died.

A job is claimed with one guarded UPDATE (queued -> running), so a job queued twice (a
recovery racing a retry) runs once. While it runs, a heartbeat is written every few
seconds; a running job whose heartbeat is older than JOB_LEASE_SECONDS lost its worker
(killed, out of memory, the machine restarted): `recover_lost_jobs` (when a worker starts,
and every minute in every worker) queues it again, or marks it failed once its attempts
are used up. Nothing is left "running" for ever.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask
from huey import Huey
from sqlalchemy import select, update
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..db import db, file_connection
from ..models import Job
from ..models.base import utcnow
from .dispatch import queue_job
from .registry import TASKS, JobContext, JobRefused, JobResult, TransientJobError

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, DisconnectionError, PoolTimeoutError, TransientJobError, ConnectionError)
FAILED = ("The job could not be finished. Please try again; if it fails again, tell your administrator.")


def lease(app: Flask) -> timedelta:
    """How long a running job may go without a heartbeat before it counts as lost."""
    return timedelta(seconds=float(app.config.get("JOB_LEASE_SECONDS", 60)))


def lost_message(attempts: int) -> str:
    times = "once" if attempts == 1 else f"{attempts} times"
    return (f"The worker running this job stopped before it finished ({times}: restarted or crashed), "
            "so it was not tried again. Please start it again; if it fails again, tell your administrator.")


class _Heartbeat:
    """Writes the job's heartbeat from a thread of the worker while the job runs."""

    def __init__(self, app: Flask, job_id: int, every: float):
        self.app, self.job_id, self.every = app, job_id, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-heartbeat-{job_id}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with self.app.app_context(), db.engine.begin() as conn:
                    conn.execute(update(Job).where(Job.id == self.job_id, Job.status == "running")
                                 .values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease allows several
                log.warning("heartbeat of job %s not written", self.job_id, exc_info=True)


def _set(job_id: int, **values) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(**values))
    db.session.commit()


def run_job(app: Flask, huey: Huey, job_id: int) -> None:
    """Run job `job_id` if it is still queued (else do nothing: done, or running elsewhere)."""
    with app.app_context():
        session = db.session
        now = utcnow()
        claimed = session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
            status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now,
            progress=1, message="Starting")).rowcount
        session.commit()
        if claimed != 1:
            return
        job = session.get(Job, job_id)
        spec = TASKS.get(job.kind)
        if spec is None:
            _set(job_id, status="failed", message="This worker does not know this kind of job.",
                 finished_at=utcnow())
            return

        def progress(fraction: float, message: str) -> None:
            _set(job_id, progress=max(1, min(99, int(fraction * 100))), message=message[:300],
                 heartbeat_at=utcnow())

        # A queued job's content can only be its upload (files come when it is done).
        context = JobContext(session=session, job=job, progress=progress, upload=job.content)
        # In the worker a thread keeps the heartbeat; immediate mode (tests) starts none.
        beat = None if huey.immediate else _Heartbeat(app, job_id, lease(app).total_seconds() / 4)
        try:
            if beat:
                beat.__enter__()
            outcome = spec.func(context, **(job.params or {}))
        except TRANSIENT as exc:
            session.rollback()
            _after_transient(app, job_id, exc)
            return
        except JobRefused as exc:
            session.rollback()
            _set(job_id, status="failed", message=str(exc)[:300] or FAILED, content=None, finished_at=utcnow())
            return
        except Exception:  # noqa: BLE001 - any failure is reported on the job, never lost
            log.exception("job %s (%s) failed", job_id, job.kind)
            session.rollback()
            _set(job_id, status="failed", message=FAILED, content=None, finished_at=utcnow())
            return
        finally:
            if beat:
                beat.__exit__()
        _finish(job_id, outcome)


def _after_transient(app: Flask, job_id: int, exc: Exception) -> None:
    log.warning("job %s met a passing problem: %s", job_id, exc)
    job = db.session.get(Job, job_id)
    if job.attempts < job.max_attempts:
        _set(job_id, status="queued", progress=0, message=(
            f"A passing problem stopped the job; trying again (attempt {job.attempts + 1} of {job.max_attempts})."))
        queue_job(app, job_id, delay=float(app.config.get("JOB_RETRY_DELAY_SECONDS", 5)) * job.attempts)
    else:
        _set(job_id, status="failed", content=None, finished_at=utcnow(), message=(
            f"The job failed {job.attempts} times on a passing problem (the database or another service "
            "was unavailable). Please try again later; if it goes on, tell your administrator."))


def _finish(job_id: int, outcome) -> None:
    if not isinstance(outcome, JobResult):
        outcome = JobResult(summary=outcome)
    values = dict(status="done", progress=100, message="Finished", result=outcome.summary, finished_at=utcnow())
    if outcome.data is not None:
        values.update(message="Ready to download", filename=outcome.filename, mimetype=outcome.mimetype)
    # The file (megabytes) goes on a connection of its own (see db.file_connection); an
    # import's upload is dropped now it has been read.
    with file_connection() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(content=outcome.data, **values))
    from ..memory import trim

    trim()


def recover_lost_jobs(app: Flask, huey: Huey, now: datetime | None = None) -> list[int]:
    """Queue again each running job whose heartbeat stopped (or fail it when its attempts
    are used up); return the ids queued again."""
    with app.app_context():
        session = db.session
        now = now or utcnow()
        lost = session.scalars(select(Job).where(Job.status == "running",
                                                 Job.heartbeat_at < now - lease(app))).all()
        again = []
        for job in lost:
            guard = update(Job).where(Job.id == job.id, Job.status == "running",
                                      Job.heartbeat_at == job.heartbeat_at)
            if job.attempts < job.max_attempts:
                changed = session.execute(guard.values(status="queued", progress=0, message=(
                    "The worker running this job stopped; starting it again "
                    f"(attempt {job.attempts + 1} of {job.max_attempts})."))).rowcount
                if changed:
                    again.append(job.id)
            else:
                session.execute(guard.values(status="failed", message=lost_message(job.attempts),
                                             finished_at=now))
            log.warning("job %s lost its worker after attempt %s", job.id, job.attempts)
        session.commit()
        for job_id in again:
            queue_job(app, job_id)
        return again
