"""Reading jobs for the pages: a member of staff's own job, its state, its file."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import file_connection
from ..models import Job, StaffUser
from ..models.base import utcnow

# A job no worker has touched for this long is shown as failed, whatever its row says:
# the page never waits for ever, even with no worker running at all.
GIVE_UP_AFTER = timedelta(minutes=15)
NO_WORKER = ("No worker has taken up this job. The job queue's worker may not be running: "
             "please tell your administrator.")
STOPPED = "Its worker stopped; it will start again when a worker takes it up."
INTERRUPTED = "The job was interrupted. Please start it again."


def job_for(session: Session, staff: StaffUser, token: str) -> Job | None:
    """Return the staff member's own job with this token, or None."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Job).where(Job.token == token, Job.staff_id == staff.id))


def status_of(job: Job, now: datetime, lease: timedelta) -> dict:
    """Return the job's state for the page: status, progress, message, filename and summary.

    A running job whose heartbeat is older than the lease reads as waiting again (its
    worker died; a worker will take it up); one untouched for GIVE_UP_AFTER reads as failed.
    """
    status, message = job.status, job.message
    if status == "running" and job.heartbeat_at and now - job.heartbeat_at > lease:
        status, message = "queued", STOPPED
        if now - job.heartbeat_at > GIVE_UP_AFTER:
            status, message = "failed", INTERRUPTED
    elif status == "queued" and now - (job.heartbeat_at or job.created_at) > GIVE_UP_AFTER:
        status, message = "failed", NO_WORKER
    return {"status": status, "progress": job.progress, "message": message, "attempts": job.attempts,
            "filename": job.filename if status == "done" else None,
            "summary": job.result if status == "done" else None}


def stored_file(job: Job) -> bytes | None:
    """Return the file of a finished job (read on a connection of its own: file_connection)."""
    if job.status != "done":
        return None
    with file_connection() as conn:
        return conn.execute(select(Job.content).where(Job.id == job.id)).scalar()


def page_state(job: Job) -> dict:
    """The job's state as its page and JSON show it (status_of), with the link to its file
    or to the page to go on to once it is done."""
    state = status_of(job, utcnow(), timedelta(seconds=float(current_app.config.get("JOB_LEASE_SECONDS", 60))))
    if state["status"] == "done":
        if job.filename:
            state["download"] = url_for("jobs.job_download", token=job.token)
        link = (state["summary"] or {}).get("link")
        if link:
            state["next"] = {"url": url_for(link["endpoint"], **link.get("args", {})), "text": link["text"]}
    return state
