"""Retention and backups, long work of this area: done by the job queue's worker when
queued (`apply-retention --queue`, `backup --queue`, or every night: NIGHTLY_RETENTION,
BACKUP_DIR), or in place by the commands, with the same functions."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from alembic.script import ScriptDirectory
from flask import current_app

from ..db import db
from ..jobs import JobContext, JobRefused, task
from ..models.base import utcnow
from . import erasure
from .backup import BackupError, write_backup

RETENTION = "data.retention"
BACKUP = "data.backup"


def code_head() -> str | None:
    """Return the newest schema revision this version of the app knows."""
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def retention_plan_today(session):
    """Return (plan, days): who is due for erasure today under RETENTION_DAYS."""
    days = int(current_app.config.get("RETENTION_DAYS", 730))
    zone = ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE", "Europe/London"))
    return erasure.retention_plan(session, utcnow().astimezone(zone).date(), days), days


@task(RETENTION, max_attempts=3, label="Retention")
def retention_job(context: JobContext) -> dict:
    """Erase every pupil who left longer ago than RETENTION_DAYS; return the counts.
    Each erasure is committed on its own, so a retry carries on where it stopped."""
    plan, days = retention_plan_today(context.session)
    context.progress(0.05, f"{plan.count} pupils left before {plan.cutoff.isoformat()}")
    totals = erasure.apply_retention(context.session, plan, progress=lambda done, total: context.progress(
        done / max(1, total), f"{done} of {total} pupils erased"))
    return {"due": plan.count, "days": days, **totals}


@task(BACKUP, max_attempts=3, label="Backup")
def backup_job(context: JobContext, path: str, keep: int | None = None) -> dict:
    """Write a consistent backup of the whole database to `path` (on the worker's
    machine); with `keep`, then remove all but the newest `keep` nightly backups
    (survey-*.jsonl.gz) beside it. Return what it holds. Refuses (JobRefused) what the
    backup refuses."""
    context.progress(0.05, "Reading every table from one snapshot")
    try:
        summary = write_backup(db.engine, db.metadata, Path(path), utcnow(), head=code_head())
    except BackupError as exc:
        raise JobRefused(str(exc)) from exc
    except OSError as exc:
        raise JobRefused(f"Could not write {path}: {exc}") from exc
    removed = []
    if keep:
        nightly = sorted(Path(path).parent.glob("survey-*.jsonl.gz"), reverse=True)
        for old in nightly[keep:]:
            old.unlink(missing_ok=True)
            removed.append(old.name)
    return {"path": str(path), "rows": summary.rows, "tables": len(summary.tables),
            "bytes": Path(path).stat().st_size, "removed": removed}
