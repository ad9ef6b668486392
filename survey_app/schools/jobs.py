"""The roster import of a large file (more rows than IMPORT_QUEUE_ROWS), done by the job
queue's worker once the lead has confirmed its preview: the same preview is worked out
again, and written only if it is still what the lead confirmed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.scope import Scope
from ..jobs import JobContext, JobRefused, task
from ..models import School, StaffUser
from .roster import apply_import, preview_import
from .roster_csv import RosterFileError, parse_roster

IMPORT = "schools.import_pupils"
CHANGED = ("The school's pupils changed after you looked at the preview, so nothing was imported. "
           "Upload the file again and check the new preview.")


@task(IMPORT, max_attempts=3, label="Pupil import")
def import_pupils(context: JobContext, school_id: int, filename: str, digest: str) -> dict:
    """Import the job's upload into the school as the confirmed preview (`digest`) said;
    return the counts and the link to the import's result. Refuses (JobRefused) when the
    asker may no longer manage the school or the preview has changed."""
    session, progress = context.session, context.progress
    staff = session.get(StaffUser, context.job.staff_id)
    if staff is None or not staff.active:
        raise JobRefused("The account that started this import is no longer active, so nothing was imported.")
    scope = Scope(staff)
    school = session.scalar(select(School).where(School.id == school_id, scope.school_condition()))
    if school is None or context.upload is None:
        raise JobRefused("This school can no longer be imported into from this account.")
    progress(0.1, "Reading the file")
    try:
        parsed = parse_roster(context.upload.decode("utf-8"))
    except RosterFileError as exc:
        raise JobRefused(str(exc)) from exc
    progress(0.3, "Comparing the file with the school's pupils")
    preview = preview_import(session, school, parsed, scope=scope)
    if preview.digest() != digest:
        raise JobRefused(CHANGED)
    progress(0.6, f"Writing {preview.writes} pupils")
    try:
        result = apply_import(session, school, staff, preview, filename=filename)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise JobRefused(CHANGED) from exc
    return {"added": result.added, "changed": result.changed, "unchanged": result.unchanged,
            "refused": result.refused,
            "link": {"endpoint": "schools.import_result", "args": {"school_id": school.id, "log_id": result.log_id},
                     "text": "See what was imported"}}
