"""The queue itself: a Huey instance per app, made from the settings, and `enqueue`.

JOBS_QUEUE chooses the storage: `sqlite` (the embedded default: a file under instance/,
shared by the development server and its worker), `redis` (production: JOBS_REDIS_URL,
else REDIS_URL, else SESSION_REDIS_URL) or `immediate` (tests that are not about the queue: the job runs at once,
inside the call that queued it). Huey carries only a job's id; what the job is lives in
the `jobs` table.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from ..db import db
from ..models import Job, StaffUser
from ..models.base import utcnow
from .dispatch import queue_job
from .registry import TASKS
from .runner import recover_lost_jobs, run_job

log = logging.getLogger(__name__)
KEEP_FOR = timedelta(days=1)
UNQUEUED = ("The job queue could not be reached, so the job was not started. Please try again in a "
            "minute; if it goes on, tell your administrator.")
QUEUES = ("sqlite", "redis", "immediate")


class QueueConfigError(RuntimeError):
    """Raised at start-up when the queue settings cannot work."""


def make_huey(config: dict, instance_path: str) -> Huey:
    """Return the Huey instance the settings describe (refuses an unknown queue or Redis
    without a URL)."""
    kind = config.get("JOBS_QUEUE") or "sqlite"
    name = config.get("JOBS_QUEUE_NAME") or "survey-jobs"
    if kind == "immediate":
        return MemoryHuey(name, results=False, immediate=True)
    if kind == "sqlite":
        path = config.get("JOBS_SQLITE_PATH") or str(Path(instance_path) / "jobs.sqlite3")
        return SqliteHuey(name, filename=path, results=False)
    if kind == "redis":
        url = config.get("JOBS_REDIS_URL") or ""
        if not url:
            raise QueueConfigError("JOBS_QUEUE is redis but none of JOBS_REDIS_URL, REDIS_URL and "
                                   "SESSION_REDIS_URL is set.")
        return RedisHuey(name, url=url, results=False)
    raise QueueConfigError(f"JOBS_QUEUE must be one of {', '.join(QUEUES)} (it is {kind!r}).")


def init_jobs(app: Flask) -> None:
    """Give the app its queue (app.extensions["huey"]) with the tasks the worker runs."""
    huey = make_huey(app.config, app.instance_path)

    @huey.task(name="survey.run_job")
    def run(job_id: int) -> None:
        run_job(app, huey, job_id)

    @huey.periodic_task(crontab(minute="*"), name="survey.recover_lost_jobs")
    def recover() -> None:
        recover_lost_jobs(app, huey)

    hour = int(app.config.get("NIGHTLY_JOBS_HOUR", 2))

    @huey.periodic_task(crontab(hour=str(hour), minute="15"), name="survey.nightly")
    def nightly() -> None:
        with app.app_context():
            queue_nightly(app.config)

    @huey.on_startup(name="survey.recover_on_startup")
    def recover_on_startup() -> None:
        recover_lost_jobs(app, huey)

    app.extensions["huey"] = huey
    app.extensions["huey.run_job"] = run


def enqueue(name: str, *, session: Session, staff: StaffUser | None, upload: bytes | None = None,
            **params) -> Job:
    """Add a job called `name` with JSON `params`, commit it and queue it; return the job.

    The caller's session is committed (the worker must see the row). `upload` is kept with
    the job until it has run (an import's file). Refuses (KeyError) a name no area
    registered. When the queue cannot be reached the job is returned failed, with a
    message saying so. Jobs made more than a day ago are removed on the way.
    """
    spec = TASKS[name]
    now = utcnow()
    session.execute(delete(Job).where(Job.created_at < now - KEEP_FOR))
    job = Job(token=secrets.token_urlsafe(24), staff_id=staff.id if staff else None, kind=name,
              params=params, status="queued", progress=0, message="Waiting for a worker", attempts=0,
              max_attempts=spec.max_attempts, content=upload, created_at=now)
    session.add(job)
    session.commit()
    try:
        queue_job(current_app._get_current_object(), job.id)
    except Exception:  # noqa: BLE001 - the queue's store (Redis) away: say so on the job's page
        log.exception("job %s could not be queued", job.id)
        session.rollback()
        session.execute(update(Job).where(Job.id == job.id).values(
            status="failed", content=None, finished_at=utcnow(), message=UNQUEUED))
        session.commit()
    return job


def queue_nightly(config) -> list[Job]:
    """Queue the nightly jobs the settings ask for: a backup into BACKUP_DIR (keeping the
    newest BACKUP_KEEP) and retention (NIGHTLY_RETENTION); return them."""
    queued = []
    if config.get("BACKUP_DIR"):
        path = Path(config["BACKUP_DIR"]) / f"survey-{utcnow():%Y%m%d-%H%M%S}.jsonl.gz"
        queued.append(enqueue("data.backup", session=db.session, staff=None, path=str(path),
                              keep=int(config.get("BACKUP_KEEP", 14))))
    if config.get("NIGHTLY_RETENTION"):
        queued.append(enqueue("data.retention", session=db.session, staff=None))
    return queued
