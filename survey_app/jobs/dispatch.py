"""Putting a job's id on the queue (the Huey task that init_jobs gave the app)."""

from __future__ import annotations

from flask import Flask


def queue_job(app: Flask, job_id: int, delay: float | None = None) -> None:
    """Put job `job_id` (already committed) on the queue, after `delay` seconds if given;
    in immediate mode it runs now, in this call."""
    run = app.extensions["huey.run_job"]
    if delay and not app.extensions["huey"].immediate:
        run.schedule(args=(job_id,), delay=delay)
    else:
        run(job_id)
