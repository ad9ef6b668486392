"""The job queue: long work (exports, large imports, rescore, retention, backups) runs in
a worker process of its own, never in a web process.

Huey is the queue (SQLite storage on the embedded default, Redis in production); the
`jobs` table (survey_app/models/jobs.py) holds what each job is, how far it has got and
what came of it, so any web worker can show its progress. An area queues work with
`enqueue("area.name", staff=..., **params)` after registering the function that does it
with `@task("area.name")` in its own jobs.py.
"""

from .queue import enqueue, init_jobs
from .registry import JobContext, JobRefused, JobResult, TransientJobError, task

__all__ = ["JobContext", "JobRefused", "JobResult", "TransientJobError", "enqueue", "init_jobs", "task"]
