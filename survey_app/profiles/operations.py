"""The support log: dated notes and interventions, kept with author and every edit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from ..audit.changes import diff_fields, record_change
from ..models import SUPPORT_KINDS, Pupil, StaffUser, SupportEntry


class SupportError(ValueError):
    """A refused support entry; the message is safe to show."""


def _check(kind: str, text: str, starts_on: date, ends_on: date | None) -> None:
    if kind not in SUPPORT_KINDS:
        raise SupportError("Choose a note or an intervention.")
    if not text or not text.strip():
        raise SupportError("Write a few words.")
    if ends_on is not None and ends_on < starts_on:
        raise SupportError("The end must not be before the start.")


def add_entry(
    session: Session, pupil: Pupil, author: StaffUser, kind: str, intervention_type: str | None,
    text: str, starts_on: date, ends_on: date | None, now: datetime,
) -> SupportEntry:
    """Add a note or intervention to a pupil's log (scope already checked by the caller)."""
    _check(kind, text, starts_on, ends_on)
    entry = SupportEntry(
        pupil_id=pupil.id, kind=kind, intervention_type=(intervention_type or None) if kind == "intervention"
        else None, text=text.strip(), starts_on=starts_on, ends_on=ends_on if kind == "intervention" else None,
        author_id=author.id, created_at=now, updated_at=now, updated_by_id=author.id,
    )
    session.add(entry)
    session.flush()
    record_change(session, author, "support", entry.id, "added", {"pupil_id": pupil.id, "kind": kind})
    return entry


def edit_entry(
    session: Session, entry: SupportEntry, editor: StaffUser, kind: str, intervention_type: str | None,
    text: str, starts_on: date, ends_on: date | None, now: datetime,
) -> dict:
    """Change an entry, keeping the old values in the change log; return what changed."""
    _check(kind, text, starts_on, ends_on)
    changed = diff_fields(entry, {
        "kind": kind,
        "intervention_type": (intervention_type or None) if kind == "intervention" else None,
        "text": text.strip(),
        "starts_on": starts_on,
        "ends_on": ends_on if kind == "intervention" else None,
    })
    if changed:
        entry.updated_at = now
        entry.updated_by_id = editor.id
        printable = {k: [str(v[0]) if v[0] is not None else None, str(v[1]) if v[1] is not None else None]
                     for k, v in changed.items()}
        record_change(session, editor, "support", entry.id, "edited", {"pupil_id": entry.pupil_id, **printable})
    return changed
