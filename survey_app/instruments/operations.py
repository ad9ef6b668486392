"""The writes of the instruments area: storing and removing a set of recorded audio or
sign-language video. Each takes explicit arguments, owns its transaction and records
who did it in the audit log."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.log import record_event
from ..models import MediaFile, StaffUser
from .media_check import CheckedFile

MEDIA_STORED = "media: uploaded"
MEDIA_REMOVED = "media: removed"


def stored_path(media_dir: str | Path, row: MediaFile) -> Path:
    """Return where the bytes of `row` live (named by content, never by the upload)."""
    return Path(media_dir) / row.stored_name


def _write(media_dir: Path, name: str, data: bytes) -> bool:
    """Write `data` as `name` in one step (a reader sees the old file or the whole new
    one); return False when a file of that content was already there."""
    target = media_dir / name
    if target.exists():
        return False
    fd, temporary = tempfile.mkstemp(dir=media_dir, prefix=".upload-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, target)
    return True


def _forget_unused(session: Session, media_dir: Path, names: set[str]) -> None:
    """Delete the files of `names` that no row points at any more."""
    if not names:
        return
    used = set(session.scalars(select(MediaFile.stored_name).where(MediaFile.stored_name.in_(names))))
    for name in names - used:
        (media_dir / name).unlink(missing_ok=True)


def store_media(session: Session, staff: StaffUser | None, *, instrument: str, kind: str, language: str,
                files: list[CheckedFile], media_dir: str | Path, now: datetime) -> list[MediaFile]:
    """Store checked files for `instrument` (adding, or replacing those of the same text and
    language; others of the set stay) and return their rows, committed.

    `staff` None is the command line. On any failure the new files are removed and
    nothing in the database changes.
    """
    directory = Path(media_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    replaced: set[str] = set()
    try:
        rows = []
        for f in files:
            name = f"{f.sha256}.{f.extension}"
            if _write(directory, name, f.data):
                written.append(name)
            row = session.scalar(select(MediaFile).where(
                MediaFile.instrument == instrument, MediaFile.kind == kind,
                MediaFile.language == f.language, MediaFile.subject == f.subject))
            if row is None:
                row = MediaFile(instrument=instrument, kind=kind, language=f.language, subject=f.subject)
                session.add(row)
            elif row.stored_name != name:
                replaced.add(row.stored_name)
            row.content_type, row.size, row.sha256 = f.content_type, len(f.data), f.sha256
            row.stored_name, row.original_name = name, f.original_name
            row.uploaded_at, row.uploaded_by_id = now, staff.id if staff else None
            rows.append(row)
        session.flush()
        record_event(session, staff.id if staff else None, MEDIA_STORED, instrument=instrument, kind=kind,
                     language=language or "several", files=len(files))
        session.commit()
    except Exception:
        session.rollback()
        for name in written:
            (directory / name).unlink(missing_ok=True)
        raise
    _forget_unused(session, directory, replaced)
    return rows


def remove_media(session: Session, staff: StaffUser, *, instrument: str, kind: str, language: str,
                 media_dir: str | Path) -> int:
    """Remove every file of one set (instrument, kind, language); return how many, committed."""
    rows = list(session.scalars(select(MediaFile).where(
        MediaFile.instrument == instrument, MediaFile.kind == kind, MediaFile.language == language)))
    names = {row.stored_name for row in rows}
    for row in rows:
        session.delete(row)
    if rows:
        record_event(session, staff.id, MEDIA_REMOVED, instrument=instrument, kind=kind,
                     language=language, files=len(rows))
    session.commit()
    _forget_unused(session, Path(media_dir), names)
    return len(rows)
