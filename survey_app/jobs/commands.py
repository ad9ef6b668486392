"""`flask --app survey_app worker`: the job queue's worker, a process of its own."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


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


COMMANDS: list = [worker_command]
