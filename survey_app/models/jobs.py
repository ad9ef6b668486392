"""Long work done by the job queue's worker (survey_app/jobs/): what was asked, how far it
has got, and what came of it. Kept in the database, so any web worker can show a job's
progress and serve its file, and a job whose worker died can be found and run again.
Removed a day after it was made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """One piece of queued work (an export, an import, a rescore, retention, a backup)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_staff_id_created_at", "staff_id", "created_at"),
        Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # Who asked (None for the worker's own periodic jobs and the CLI).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # queued, running, done, failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # A small summary for the page (counts, the page to go on to); files go in `content`.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    filename: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(100))
    # Megabytes: the finished file (read only by the download, on a connection of its own)
    # or, for an import, the uploaded file until the import has run.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written by the worker while it runs the job: a job whose heartbeat stops lost its worker.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
