"""Data protection pages for administrators: the audit log, subject access and erasure.

The audit log is read here and nowhere written to by hand: there is no route that edits
or deletes an entry.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from ..accounts.access import current_scope, staff_required
from ..accounts.forms import AuditSearchForm, EraseForm
from ..audit import log as audit_log
from ..audit.log import AuditFilters
from ..db import db
from ..files.cells import safe_cell
from ..models import AuditEvent, Pupil, StaffUser
from ..models.base import utcnow
from ..models.paging import page_of
from ..models.people import year_label
from ..security import no_store
from .erasure import erase_pupil
from .subject_access import held_counts, subject_access_record

bp = Blueprint("data", __name__, template_folder="templates", url_prefix="/staff/admin")


PER_PAGE = 50
MAX_PUPILS = 200
CSV_CHUNK = 1000


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE", "Europe/London"))


def _local_midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_zone()).astimezone(UTC)


def _filters(form: AuditSearchForm) -> tuple[AuditFilters, list[str], list[Pupil]]:
    """Return the search the form asks for, notes on what it matched, and the pupils matched."""
    scope = current_scope()
    filters = AuditFilters(kind=form.what.data or "")
    notes: list[str] = []
    pupils: list[Pupil] = []
    if form.who.data:
        staff = audit_log.staff_matching(db.session, form.who.data)
        filters.staff_ids = [s.id for s in staff]
        if not staff:
            notes.append(f"No staff account matches \u201c{form.who.data}\u201d.")
    if form.pupil_id.data:
        pupil = db.session.scalar(scope.pupils(include_archived=True).where(Pupil.id == form.pupil_id.data))
        pupils = [pupil] if pupil else []
        filters.pupil_ids = [form.pupil_id.data]
    elif form.pupil.data:
        pupils = audit_log.pupils_matching(db.session, scope.pupils(include_archived=True), form.pupil.data,
                                           MAX_PUPILS)
        if len(pupils) > MAX_PUPILS:
            notes.append(f"More than {MAX_PUPILS} pupils match \u201c{form.pupil.data}\u201d: "
                         f"showing entries about the first {MAX_PUPILS}. Give more of the name, or the UPN.")
            pupils = pupils[:MAX_PUPILS]
        elif not pupils:
            notes.append(f"No pupil matches \u201c{form.pupil.data}\u201d. Erased pupils cannot be found by name.")
        filters.pupil_ids = [p.id for p in pupils]
    if form.since.data:
        filters.since = _local_midnight(form.since.data)
    if form.until.data:
        filters.before = _local_midnight(form.until.data + timedelta(days=1))
    return filters, notes, pupils


def _names(events: list[AuditEvent]) -> tuple[dict[int, StaffUser], dict[int, Pupil]]:
    staff_ids = {e.staff_id for e in events if e.staff_id is not None}
    pupil_ids = {e.pupil_id for e in events if e.pupil_id is not None}
    staff = {s.id: s for s in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))} \
        if staff_ids else {}
    pupils = {p.id: p for p in db.session.scalars(
        select(Pupil).where(Pupil.id.in_(pupil_ids)).options(joinedload(Pupil.school)))} if pupil_ids else {}
    return staff, pupils


@bp.get("/audit")
@staff_required("admin")
def audit():
    """Search the audit log by staff member, pupil, kind of action and dates; newest first."""
    form = AuditSearchForm(formdata=request.args)
    page = staff = pupils_of = None
    notes: list[str] = []
    matched: list[Pupil] = []
    if form.validate():
        filters, notes, matched = _filters(form)
        page = page_of(db.session, audit_log.search(filters), form.page.data or 1, PER_PAGE)
        staff, pupils_of = _names(page.items)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return no_store(Response(render_template(
        "data/audit.html", form=form, page=page, staff=staff, pupils=pupils_of, notes=notes,
        matched=matched[:5], more_matched=max(0, len(matched) - 5), args=args,
        describe=audit_log.describe, detail_text=audit_log.detail_text, filtered=bool(args),
    ), status=200 if page is not None else 400))


def _csv_lines(filters: AuditFilters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["when", "staff member", "staff email", "what", "pupil", "UPN", "school", "details"])
    zone = _zone()
    stmt = audit_log.search(filters)
    last: tuple[datetime, int] | None = None
    while True:
        # Page through by (time, id) so a long log is never held in memory at once.
        chunk_stmt = stmt if last is None else stmt.where(or_(
            AuditEvent.at < last[0], and_(AuditEvent.at == last[0], AuditEvent.id < last[1])))
        events = list(db.session.scalars(chunk_stmt.limit(CSV_CHUNK)))
        if not events:
            break
        staff, pupils = _names(events)
        for e in events:
            who = staff.get(e.staff_id) if e.staff_id is not None else None
            pupil = pupils.get(e.pupil_id) if e.pupil_id is not None else None
            row = [
                e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                who.name if who else ("Command line or scheduled job" if e.staff_id is None else "Former staff"),
                who.email if who else "",
                audit_log.describe(e),
                pupil.display_name if pupil else ("Erased pupil" if (e.detail or {}).get("pupil") == "erased" else ""),
                pupil.upn if pupil else "",
                pupil.school.name if pupil else "",
                audit_log.detail_text(e),
            ]
            writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        last = (events[-1].at, events[-1].id)


@bp.get("/audit.csv")
@staff_required("admin")
def audit_csv():
    """The filtered audit log as a spreadsheet (CSV); the download is itself recorded."""
    form = AuditSearchForm(formdata=request.args)
    if not form.validate():
        return redirect(url_for("data.audit", **request.args))
    filters, _, _ = _filters(form)
    audit_log.record_export(db.session, current_user.id, "audit log (CSV)",
                            filters={k: v for k, v in request.args.items() if k != "page" and v})
    db.session.commit()
    stamp = utcnow().astimezone(_zone()).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(_lines_with_bom(filters)), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=f"audit-log-{stamp}.csv")
    return no_store(response)


def _lines_with_bom(filters: AuditFilters) -> Iterator[str]:
    yield "\ufeff"  # Excel reads the names as UTF-8
    yield from _csv_lines(filters)


# ----- subject access and erasure ----------------------------------------------------


def _count(n: int, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{n} {word if n == 1 else plural}"


def _pupil(pupil_id: int) -> Pupil:
    return current_scope().pupil_or_404(db.session, pupil_id)


@bp.get("/pupils/<int:pupil_id>/subject-access")
@staff_required("admin")
def subject_access(pupil_id: int):
    """Everything held about one pupil, as a page to read or print (recorded in the audit log)."""
    pupil = _pupil(pupil_id)
    record = subject_access_record(db.session, pupil, current_user, utcnow())
    audit_log.record_export(db.session, current_user.id, "subject access record (page)", pupil_id=pupil.id,
                            format="HTML")
    db.session.commit()
    return no_store(Response(render_template(
        "data/subject_access.html", pupil=pupil, record=record, year_label=year_label)))


@bp.get("/pupils/<int:pupil_id>/subject-access.json")
@staff_required("admin")
def subject_access_json(pupil_id: int):
    """Everything held about one pupil, machine-readable (recorded in the audit log)."""
    pupil = _pupil(pupil_id)
    record = audit_log.jsonable(subject_access_record(db.session, pupil, current_user, utcnow()))
    audit_log.record_export(db.session, current_user.id, "subject access record (JSON)", pupil_id=pupil.id,
                            format="JSON")
    db.session.commit()
    body = json.dumps(record, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers.set("Content-Disposition", "attachment", filename=f"subject-access-pupil-{pupil.id}.json")
    return no_store(response)


@bp.route("/pupils/<int:pupil_id>/erase", methods=["GET", "POST"])
@staff_required("admin")
def erase(pupil_id: int):
    """Erase a pupil everywhere, after the administrator types the pupil's UPN."""
    pupil = _pupil(pupil_id)
    form = EraseForm()
    if form.validate_on_submit():
        if form.upn.data.replace(" ", "").upper() != pupil.upn.upper():
            form.upn.errors.append("That is not this pupil's UPN.")
        else:
            school_id = pupil.school_id
            counts = erase_pupil(db.session, current_user._get_current_object(), pupil)
            db.session.commit()
            gone = ", ".join(_count(counts[key], word) for key, word in (
                ("responses", "survey response"), ("answers", "answer"), ("support_entries", "support log entry"),
                ("access_codes", "access code")))
            flash(f"The pupil has been erased ({gone}). The audit log keeps only that an erasure happened.",
                  "success")
            return redirect(url_for("schools.list_pupils", school_id=school_id, status="all"))
    status = 400 if form.errors else 200
    return no_store(Response(render_template(
        "data/erase.html", pupil=pupil, form=form, held=held_counts(db.session, pupil), year_label=year_label),
        status=status))
