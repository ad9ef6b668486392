"""A group's review pack (every pupil's conversation sheet, or every family summary, as
one PDF), made by the job queue's worker (survey_app/jobs/), never in a web process: a
pack for a year group of 300 pupils takes a while. Progress goes on the job's page."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..accounts.scope import Scope
from ..audit.log import record_export
from ..jobs import JobContext, JobRefused, JobResult, task
from ..models import Group, StaffUser
from ..models.base import utcnow
from .pdf import family_pdf, sheets_pdf
from .queries import group_pupils
from .sheets import conversation_sheet, family_summary

PACK = "reviews.pack"
KINDS = {"sheet": "Conversation sheets", "family": "Family summaries"}


@task(PACK, max_attempts=3, label="Review pack")
def review_pack(context: JobContext, group_id: int, kind: str) -> JobResult:
    """Return the PDF of `kind` ("sheet" or "family") for the pupils of group `group_id`
    that the asker may see one by one; refuses (JobRefused) a group they can no longer see."""
    session, progress = context.session, context.progress
    staff = session.get(StaffUser, context.job.staff_id)
    if staff is None or not staff.active:
        raise JobRefused("The account that asked for this pack is no longer active.")
    if kind not in KINDS:
        raise JobRefused(f"There is no review pack of the kind '{kind}'.")
    scope = Scope(staff)
    group = session.scalar(select(Group).where(Group.id == group_id, scope.group_condition()))
    if group is None:
        raise JobRefused("That group is no longer one you can see.")
    pupils = group_pupils(session, group, scope)
    now, total = utcnow(), max(len(pupils), 1)
    threshold = int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))
    title = f"{KINDS[kind]}: {group.name}"
    made = []
    for i, pupil in enumerate(pupils, start=1):
        made.append(conversation_sheet(session, pupil, now, scope, threshold) if kind == "sheet"
                    else family_summary(session, pupil, now))
        if i % 10 == 0 or i == len(pupils):
            session.commit()
            progress(0.8 * i / total, f"{i} of {len(pupils)} pupils read")
    data = (sheets_pdf(made, title=title) if kind == "sheet" else family_pdf(made, title=title))
    record_export(session, staff.id, f"review pack ({kind}, PDF)", group_id=group.id, pupils=len(pupils))
    session.commit()
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in group.name).strip("-") or "group"
    return JobResult(filename=f"{kind}s-{safe}.pdf", mimetype="application/pdf", data=data)
