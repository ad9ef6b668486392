"""The cohort's long exports (the PDF report, the ZIP of everything), done by the job
queue's worker (survey_app/jobs/): it works out the report and has it drawn in a child
process (exports/isolated.py); progress and the file go on the job, so any web worker can
show the progress and serve the file.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from flask import current_app

from ..accounts.scope import Scope
from ..audit.log import record_export
from ..jobs import JobContext, JobRefused, JobResult, task
from ..models import StaffUser
from ..models.base import utcnow
from .build import CohortError, cohort_report
from .selection import parse_selection

EXPORT = "cohort.export"
TITLES = {"zip": "Everything as a ZIP", "report": "Cohort report as PDF"}


@task(EXPORT, max_attempts=3, label="Cohort export")
def export_cohort(context: JobContext, selection: str, format: str) -> JobResult:
    """Return the export of `selection` (a cohort page query) in `format` (report or zip)
    as its asker may see it; refuses (JobRefused) a selection that no longer works."""
    from .exports.isolated import BACKGROUND_TIMEOUT_S, export_isolated

    session, progress = context.session, context.progress
    staff = session.get(StaffUser, context.job.staff_id)
    if staff is None or not staff.active:
        raise JobRefused("The account that asked for this export is no longer active.")
    parsed = parse_selection(parse_qs(selection))
    if parsed.errors:
        raise JobRefused(" ".join(parsed.errors))
    progress(0.05, "Working out the statistics")
    try:
        report = cohort_report(session, Scope(staff), parsed.selection, utcnow(),
                               int(current_app.config.get("SUPPRESSION_THRESHOLD", 5)),
                               current_app.config.get("DEFAULT_TIMEZONE", "Europe/London"))
    except CohortError as exc:
        raise JobRefused(str(exc)) from exc
    session.commit()
    exported = export_isolated(report, format, progress=lambda f, m: progress(0.1 + 0.9 * f, m),
                               timeout=BACKGROUND_TIMEOUT_S)
    record_export(session, staff.id, f"cohort change ({format})", format=format, chart=None,
                  selection=report.selection_query, rounds=[r.id for r in report.rounds])
    session.commit()
    return JobResult(filename=exported.filename, mimetype=exported.mimetype, data=exported.data)
