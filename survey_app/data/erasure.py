"""Erasing a pupil everywhere, on request or when the retention period has passed.

`erase_pupil` removes the pupil's record, answers, factor scores, responses, support
notes, access codes and group and flag memberships, and every change-history entry about
them (and, from tracking, attainment, attendance and the pupil's own interventions).
Audit entries about the pupil stay (who looked at or changed something, when) but
lose the link to the pupil and any detail that could name them. One new audit entry
records that an erasure happened, by whom and when: no name, no UPN.

Nothing here commits: the caller commits the whole erasure as one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, select
from sqlalchemy.orm import Session

from ..audit.log import PUPIL_ERASED, record_event
from ..models import (
    AccessCode,
    Answer,
    AuditEvent,
    ChangeLog,
    FactorScore,
    Pupil,
    Response,
    ResponseScores,
    RoundFactorStats,
    School,
    StaffUser,
    SupportEntry,
    group_members,
    pupil_flag_members,
)
from ..models.reviews import erase_review_records
from ..models.tracking import AttainmentResult, AttendancePeriod, Intervention, intervention_members

BY_ADMIN = "administrator on request"
BY_RETENTION = "retention job"
# What an audit entry about an erased pupil may keep: the kind of record and which
# fields changed, or what was exported. Everything else in its detail is dropped.
KEEP_IN_AUDIT = ("entity", "fields", "what", "format")


def _ids(session: Session, stmt) -> list[int]:
    return list(session.scalars(stmt))


@dataclass
class PupilHistory:
    """The change-history entries that concern one pupil."""

    about: list[ChangeLog]  # wholly about the pupil: their record, responses, notes, codes
    naming: list[ChangeLog]  # about several pupils (group membership) and naming this one
    refused_rows: list[ChangeLog]  # roster-import summaries listing the pupil's UPN

    @property
    def all(self) -> list[ChangeLog]:
        return sorted({e.id: e for e in [*self.about, *self.naming, *self.refused_rows]}.values(),
                      key=lambda e: (e.at, e.id))


def history_of(session: Session, pupil: Pupil) -> PupilHistory:
    """Return the change-history entries that concern `pupil` (for subject access and erasure)."""
    pid = pupil.id
    response_ids = _ids(session, select(Response.id).where(Response.pupil_id == pid))
    support_ids = _ids(session, select(SupportEntry.id).where(SupportEntry.pupil_id == pid))
    own = (ChangeLog.entity == "pupil") & (ChangeLog.entity_id == pid)
    if response_ids:
        own = own | ((ChangeLog.entity == "response") & ChangeLog.entity_id.in_(response_ids))
    if support_ids:
        own = own | ((ChangeLog.entity == "support") & ChangeLog.entity_id.in_(support_ids))
    about = {e.id: e for e in session.scalars(select(ChangeLog).where(own))}
    naming = []
    # Entries filed under a round, group or flag name the pupil inside their JSON: a cheap
    # text match in the database first, then an exact check of each.
    text = cast(ChangeLog.changes, String)
    for entry in session.scalars(select(ChangeLog).where(
            ChangeLog.entity.not_in(("pupil", "school", "staff")), text.like(f"%{pid}%"))):
        changes = entry.changes or {}
        if changes.get("pupil_id") == pid:
            about.setdefault(entry.id, entry)
        elif isinstance(changes.get("pupil_ids"), list) and pid in changes["pupil_ids"] and entry.id not in about:
            naming.append(entry)
    refused = [
        entry for entry in session.scalars(select(ChangeLog).where(
            ChangeLog.entity == "school", ChangeLog.entity_id == pupil.school_id, text.like(f"%{pupil.upn}%")))
        if any(isinstance(r, list) and pupil.upn in r for r in (entry.changes or {}).get("refused_rows") or [])
    ]
    return PupilHistory(sorted(about.values(), key=lambda e: (e.at, e.id)), naming, refused)


def _scrub_change_log(session: Session, pupil: Pupil) -> tuple[int, int]:
    """Delete the history entries about the pupil; take the pupil out of entries about
    several pupils and out of import summaries. Return (deleted, edited)."""
    history = history_of(session, pupil)
    for entry in history.about:
        session.delete(entry)
    for entry in history.naming:
        changes = dict(entry.changes)
        changes["pupil_ids"] = [i for i in changes["pupil_ids"] if i != pupil.id]
        entry.changes = changes
    for entry in history.refused_rows:
        changes = dict(entry.changes)
        changes["refused_rows"] = [r for r in changes["refused_rows"] if not (isinstance(r, list) and pupil.upn in r)]
        entry.changes = changes
    return len(history.about), len(history.naming) + len(history.refused_rows)


def _unlink_audit(session: Session, pupil_id: int) -> int:
    """Keep the audit entries about the pupil, without the pupil; return how many."""
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.pupil_id == pupil_id)))
    for event in events:
        kept = {k: v for k, v in (event.detail or {}).items() if k in KEEP_IN_AUDIT}
        event.detail = {**kept, "pupil": "erased"}
        event.pupil_id = None
    return len(events)


def erase_pupil(session: Session, staff: StaffUser | None, pupil: Pupil, *, by: str | None = None) -> dict[str, int]:
    """Erase `pupil` everywhere and return how many rows of each kind went.

    `staff` is the administrator who asked (None for the retention job); `by` says how the
    erasure came about (default: an administrator on request, or the retention job when
    there is no member of staff). Cached round statistics of the pupil's rounds are
    dropped so they are recomputed without the pupil. Does not commit.
    """
    pid = pupil.id
    response_ids = _ids(session, select(Response.id).where(Response.pupil_id == pid))
    round_ids = _ids(session, select(Response.round_id).where(Response.pupil_id == pid).distinct())
    counts: dict[str, int] = {}
    # The history first: finding it needs the pupil's responses and notes.
    counts["history_entries_deleted"], counts["history_entries_edited"] = _scrub_change_log(session, pupil)

    def gone(key: str, stmt) -> None:
        counts[key] = session.execute(stmt).rowcount or 0

    if response_ids:
        gone("answers", delete(Answer).where(Answer.response_id.in_(response_ids)))
        gone("factor_scores", delete(FactorScore).where(FactorScore.response_id.in_(response_ids)))
        session.execute(delete(ResponseScores).where(ResponseScores.response_id.in_(response_ids)))
    else:
        counts["answers"] = counts["factor_scores"] = 0
    gone("responses", delete(Response).where(Response.pupil_id == pid))
    gone("access_codes", delete(AccessCode).where(AccessCode.pupil_id == pid))
    gone("support_entries", delete(SupportEntry).where(SupportEntry.pupil_id == pid))
    counts.update(erase_review_records(session, pid))
    gone("group_memberships", group_members.delete().where(group_members.c.pupil_id == pid))
    gone("flags", pupil_flag_members.delete().where(pupil_flag_members.c.pupil_id == pid))
    gone("attainment_results", delete(AttainmentResult).where(AttainmentResult.pupil_id == pid))
    gone("attendance_periods", delete(AttendancePeriod).where(AttendancePeriod.pupil_id == pid))
    # A pupil's own intervention (not a group's) goes with them, notes and all.
    own = select(intervention_members.c.intervention_id).where(intervention_members.c.pupil_id == pid)
    alone = select(intervention_members.c.intervention_id).group_by(intervention_members.c.intervention_id).having(
        func.count() == 1)
    gone("interventions", delete(Intervention).where(Intervention.id.in_(own), Intervention.id.in_(alone),
                                                     Intervention.group_id.is_(None)))
    gone("intervention_memberships", intervention_members.delete().where(intervention_members.c.pupil_id == pid))
    counts["audit_entries_unlinked"] = _unlink_audit(session, pid)
    # Unlink (and strip) in one UPDATE before the pupil goes: on PostgreSQL the audit table
    # accepts a changed detail only together with the unlinking (migration 0005).
    session.flush()
    if round_ids:
        gone("round_statistics_dropped", delete(RoundFactorStats).where(RoundFactorStats.round_id.in_(round_ids)))
    else:
        counts["round_statistics_dropped"] = 0
    session.execute(delete(Pupil).where(Pupil.id == pid))
    session.expunge(pupil)
    record_event(session, staff.id if staff else None, PUPIL_ERASED,
                 by=by or (BY_ADMIN if staff is not None else BY_RETENTION))
    session.flush()
    return counts


# ----- retention ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPlan:
    """The pupils the retention period reaches: who left before `cutoff`, by school."""

    cutoff: date
    pupil_ids: list[int]
    by_school: list[tuple[str, str, int]]  # (school name, URN, pupils)

    @property
    def count(self) -> int:
        return len(self.pupil_ids)


def retention_cutoff(today: date, days: int) -> date:
    """Return the first leaving date that is kept: pupils who left before it are erased."""
    return today - timedelta(days=days)


def retention_plan(session: Session, today: date, days: int) -> RetentionPlan:
    """Return the pupils who left more than `days` days before `today`, counted by school."""
    cutoff = retention_cutoff(today, days)
    due = (Pupil.left_on.is_not(None)) & (Pupil.left_on < cutoff)
    ids = _ids(session, select(Pupil.id).where(due).order_by(Pupil.id))
    by_school = [
        (name, urn, n) for name, urn, n in session.execute(
            select(School.name, School.urn, func.count(Pupil.id))
            .join(Pupil, Pupil.school_id == School.id).where(due)
            .group_by(School.id, School.name, School.urn).order_by(School.name))
    ]
    return RetentionPlan(cutoff, ids, by_school)


def apply_retention(session: Session, plan: RetentionPlan, progress=None) -> dict[str, Any]:
    """Erase the planned pupils, committing after each so an interruption loses nothing
    already done (running again carries on). Returns the summed counts."""
    totals: dict[str, Any] = {"pupils": 0}
    for done, pupil_id in enumerate(plan.pupil_ids, start=1):
        pupil = session.get(Pupil, pupil_id)
        if pupil is None or pupil.left_on is None or pupil.left_on >= plan.cutoff:
            continue  # erased or changed since the plan was made
        counts = erase_pupil(session, None, pupil, by=BY_RETENTION)
        session.commit()
        totals["pupils"] += 1
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if progress is not None and (done % 100 == 0 or done == plan.count):
            progress(done, plan.count)
    return totals
