"""`flask --app survey_app worker`: the job queue's worker, a process of its own."""

from __future__ import annotations

import logging
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from ..models import Job
from ..models.base import utcnow
from .queries import status_of


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 32),
              help="Jobs run side by side (threads of this process).")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the job queue's worker until stopped (Ctrl-C or SIGTERM finish the running jobs
    first; SIGKILL leaves them to be taken up again by the next worker)."""
    app = current_app._get_current_object()
    huey = app.extensions["huey"]
    if huey.immediate:
        raise click.ClickException("JOBS_QUEUE is immediate: jobs run where they are queued, with no worker.")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    click.echo(f"Worker for {app.config.get('JOBS_QUEUE')} queue {huey.name!r}, {workers} at a time")
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                    check_worker_health=True)
    consumer.run()


def say_queued(job) -> None:
    """Tell the person at the command line that the worker will do `job`."""
    click.echo(f"Queued as job {job.id} ({job.kind}); the job queue's worker does it. "
               "Follow it with: flask --app survey_app jobs")


@click.command("jobs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@with_appcontext
def jobs_command(limit: int) -> None:
    """List the newest jobs: id, kind, status, progress, attempts, when made, message."""
    rows = db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)).all()
    if not rows:
        click.echo("No jobs.")
    lease = timedelta(seconds=float(current_app.config.get("JOB_LEASE_SECONDS", 60)))
    for job in rows:
        state = status_of(job, utcnow(), lease)
        click.echo(f"{job.id:>6}  {job.kind:<22} {state['status']:<8} {state['progress']:>3}%  "
                   f"attempt {job.attempts}/{job.max_attempts}  {job.created_at:%Y-%m-%d %H:%M}  {state['message']}")


COMMANDS: list = [worker_command, jobs_command]
