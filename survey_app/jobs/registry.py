"""The kinds of job the worker knows, each registered by its area with `@task(name)`.

A job function takes a `JobContext` first and the job's parameters (plain JSON values) as
keywords; it returns a `JobResult`, a small dict (the summary the page shows) or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..models import Job


class JobRefused(Exception):
    """Raised by a job that cannot be done as asked; its message is shown to the person
    who asked, and the job is not tried again."""


class TransientJobError(Exception):
    """Raised by a job for a passing problem (a service briefly away): the job is tried
    again, up to its number of attempts."""


@dataclass
class JobResult:
    """What a finished job leaves: a file to download and/or a summary for the page."""

    filename: str | None = None
    mimetype: str | None = None
    data: bytes | None = None
    summary: dict[str, Any] | None = None


@dataclass
class JobContext:
    """What a job function is given: the database session, its job row and a way to
    report progress (`progress(fraction, message)`, fraction from 0 to 1). Reporting
    progress commits the session, so call it only between the job's transactions."""

    session: Session
    job: Job
    progress: Callable[[float, str], None]
    # The uploaded file of an import, read once when the job starts (None for others).
    upload: bytes | None = None


@dataclass(frozen=True)
class TaskSpec:
    name: str
    func: Callable[..., Any]
    max_attempts: int = 3
    label: str = ""


TASKS: dict[str, TaskSpec] = {}


def task(name: str, *, max_attempts: int = 3, label: str = ""):
    """Register `func` as the job called `name` (at most 60 characters, unique)."""
    if len(name) > 60:
        raise ValueError("A job's name is at most 60 characters.")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in TASKS and TASKS[name].func is not func:
            raise ValueError(f"Two jobs are called {name!r}.")
        TASKS[name] = TaskSpec(name, func, max_attempts, label or name)
        return func

    return register
