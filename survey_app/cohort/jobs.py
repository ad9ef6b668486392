"""Exports that take a while (the PDF report, the ZIP of everything) run in a background
thread, which works out the report and has it drawn in a child process
(exports/isolated.py); the job's progress and file live in the database, so any web
worker can show the progress and serve the file, and the worker that started it keeps
answering requests.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..db import db, file_connection
from ..models import ExportJob, StaffUser
from ..models.base import utcnow

log = logging.getLogger(__name__)
KEEP_FOR = timedelta(days=1)
# A job still "running" after this long lost its worker (restart or crash).
STALE_AFTER = timedelta(minutes=15)


def create_job(session: Session, staff: StaffUser, kind: str, params: dict, now: datetime) -> ExportJob:
    """Add a queued job (and drop jobs older than a day)."""
    session.execute(delete(ExportJob).where(ExportJob.created_at < now - KEEP_FOR))
    job = ExportJob(token=secrets.token_urlsafe(24), staff_id=staff.id, kind=kind, params=params,
                    status="queued", progress=0, message="Waiting to start", created_at=now)
    session.add(job)
    session.flush()
    return job


def job_for(session: Session, staff: StaffUser, token: str) -> ExportJob | None:
    """Return the staff member's own job with this token, or None."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(ExportJob).where(ExportJob.token == token, ExportJob.staff_id == staff.id))


def status_of(job: ExportJob, now: datetime) -> dict:
    """Return the job's state for the page (a lost job reads as failed)."""
    status, message = job.status, job.message
    if status in ("queued", "running") and now - job.created_at > STALE_AFTER:
        status, message = "failed", "The export was interrupted. Please start it again."
    return {"status": status, "progress": job.progress, "message": message,
            "filename": job.filename if status == "done" else None}


def run_in_background(app: Flask, job_id: int, work: Callable[[Session, ExportJob, Callable], tuple]) -> None:
    """Run `work(session, job, progress)` in a thread; it returns (filename, mimetype, bytes)."""
    thread = threading.Thread(target=_run, args=(app, job_id, work), daemon=True, name=f"export-{job_id}")
    thread.start()


def run_now(app: Flask, job_id: int, work) -> None:
    """Run a job in this thread (the CLI and tests)."""
    _run(app, job_id, work)


def _run(app: Flask, job_id: int, work) -> None:
    with app.app_context():
        session = db.session
        job = session.get(ExportJob, job_id)
        if job is None:
            return
        _update(session, job_id, status="running", progress=1, message="Starting")

        def progress(fraction: float, message: str) -> None:
            _update(session, job_id, progress=max(1, min(99, int(fraction * 100))), message=message[:300])

        try:
            filename, mimetype, data = work(session, job, progress)
        except Exception:  # noqa: BLE001 - any failure is reported on the job, never lost
            log.exception("export job %s failed", job_id)
            session.rollback()
            _update(session, job_id, status="failed", message="The export could not be made. Please try again;"
                    " if it fails again, tell your administrator.", finished_at=utcnow())
            return
        with file_connection() as conn:
            conn.execute(update(ExportJob).where(ExportJob.id == job_id).values(
                status="done", progress=100, message="Ready to download", filename=filename,
                mimetype=mimetype, content=data, finished_at=utcnow()))
        del data
        from ..memory import trim

        trim()


def stored_file(job: ExportJob) -> bytes | None:
    """Return the file of a finished job (read on a connection of its own: file_connection)."""
    with file_connection() as conn:
        return conn.execute(select(ExportJob.content).where(ExportJob.id == job.id)).scalar()


def _update(session: Session, job_id: int, **values) -> None:
    session.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))
    session.commit()
