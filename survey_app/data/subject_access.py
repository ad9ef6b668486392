"""Subject access: everything held about one pupil, as plain data for a page and a JSON file.

The pupil's record, groups, flags, access codes (their state, never the code), every
response with each answer and factor score, support notes and interventions, the change
history about them and the audit entries about them. Times stay datetimes here; the
JSON download turns them into ISO text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..audit.log import describe, detail_text
from ..models import (
    AccessCode,
    Answer,
    AuditEvent,
    FactorScore,
    Group,
    Pupil,
    PupilFlag,
    Response,
    StaffUser,
    SupportEntry,
    SurveyRound,
    group_members,
    pupil_flag_members,
)
from ..models.reviews import review_records
from ..models.tracking import AttainmentResult, AttendancePeriod, Intervention, intervention_members
from ..questionnaires.store import definition_of
from .erasure import PupilHistory, history_of

PUPIL_FIELDS = ("id", "upn", "first_name", "surname", "year_group", "reg_group", "gender", "date_of_birth", "sen",
                "fsm", "eal", "archived", "left_on", "shared_with_partnership", "created_at", "updated_at")


def _staff_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(wanted))).all())


def _who(names: dict[int, str], staff_id: int | None) -> str:
    if staff_id is None:
        return "Command line or scheduled job"
    return names.get(staff_id, "Former staff")


def _code_state(code: AccessCode) -> str:
    if code.first_used_at is not None:
        return "used"
    return "reissued, not used yet" if code.reissued_at else "not used yet"


def _groups(session: Session, pupil: Pupil) -> list[dict[str, Any]]:
    groups = session.scalars(
        select(Group).join(group_members, group_members.c.group_id == Group.id)
        .where(group_members.c.pupil_id == pupil.id)
        .options(joinedload(Group.school), joinedload(Group.partnership)).order_by(Group.name))
    return [{"name": g.name, "kind": g.kind, "archived": g.archived,
             "belongs_to": g.school.name if g.school else (g.partnership.name if g.partnership else "")}
            for g in groups]


def _flags(session: Session, pupil: Pupil) -> list[dict[str, Any]]:
    flags = session.scalars(
        select(PupilFlag).join(pupil_flag_members, pupil_flag_members.c.flag_id == PupilFlag.id)
        .where(pupil_flag_members.c.pupil_id == pupil.id).order_by(PupilFlag.name))
    return [{"name": f.name, "description": f.description or ""} for f in flags]


def _codes(session: Session, pupil: Pupil) -> list[dict[str, Any]]:
    codes = session.scalars(
        select(AccessCode).where(AccessCode.pupil_id == pupil.id)
        .options(joinedload(AccessCode.round)).order_by(AccessCode.created_at, AccessCode.id))
    return [{"round": c.round.name, "state": _code_state(c), "created_at": c.created_at,
             "first_used_at": c.first_used_at, "reissued_at": c.reissued_at, "note": c.note or ""}
            for c in codes]


def _responses(session: Session, pupil: Pupil) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Response, SurveyRound).join(SurveyRound, SurveyRound.id == Response.round_id)
        .options(joinedload(Response.questionnaire))
        .where(Response.pupil_id == pupil.id).order_by(SurveyRound.opens_at, SurveyRound.id)).all()
    ids = [r.id for r, _ in rows]
    answers: dict[int, list[Answer]] = {i: [] for i in ids}
    scores: dict[int, dict[str, FactorScore]] = {i: {} for i in ids}
    if ids:
        for a in session.scalars(select(Answer).where(Answer.response_id.in_(ids))):
            answers[a.response_id].append(a)
        for s in session.scalars(select(FactorScore).where(FactorScore.response_id.in_(ids))):
            scores[s.response_id][s.factor] = s
    out = []
    for response, survey_round in rows:
        q = definition_of(response.questionnaire)
        labels = {o.value: o.label for o in q.scale}
        order = {s.id: i for i, s in enumerate(q.statements)}
        statements = {s.id: s for s in q.statements}
        bands = {b.key: b.label for b in q.bands}
        given = sorted(answers[response.id], key=lambda a: order.get(a.item, len(order)))
        own = scores[response.id]
        out.append({
            "round": survey_round.name, "phase": survey_round.phase, "questionnaire": response.questionnaire.label,
            "started_at": response.started_at, "last_activity_at": response.last_activity_at,
            "finished_at": response.finished_at, "seconds_spent": response.seconds_spent,
            "mode": response.mode, "entered_by": response.entered_by,
            "answers": [{
                "statement_id": a.item,
                "statement": statements[a.item].text if a.item in statements else "",
                "factor": statements[a.item].factor if a.item in statements else "",
                "reverse_scored": statements[a.item].reversed if a.item in statements else False,
                "value": a.value, "answer": labels.get(a.value, str(a.value)), "answered_at": a.answered_at,
            } for a in given],
            "factor_scores": [{
                "factor": f.key, "name": f.name, "score": own[f.key].score,
                "band": bands.get(own[f.key].band or "", own[f.key].band or ""),
                "items_answered": own[f.key].items_answered, "items_total": own[f.key].items_total,
            } for f in q.factors if f.key in own],
        })
    return out


def _support(session: Session, pupil: Pupil, names: dict[int, str]) -> list[dict[str, Any]]:
    entries = session.scalars(select(SupportEntry).where(SupportEntry.pupil_id == pupil.id)
                              .order_by(SupportEntry.starts_on, SupportEntry.id))
    return [{"kind": e.kind, "intervention_type": e.intervention_type or "", "text": e.text,
             "starts_on": e.starts_on, "ends_on": e.ends_on, "written_by": _who(names, e.author_id),
             "created_at": e.created_at, "updated_at": e.updated_at,
             "updated_by": _who(names, e.updated_by_id) if e.updated_by_id else ""}
            for e in entries]


def _history(history: PupilHistory, pupil: Pupil, names: dict[int, str]) -> list[dict[str, Any]]:
    shared = {e.id for e in history.naming}
    refused = {e.id for e in history.refused_rows}
    out = []
    for entry in history.all:
        changes = dict(entry.changes or {})
        # Entries about several pupils show only what concerns this one.
        if entry.id in shared:
            others = len(changes.get("pupil_ids") or []) - 1
            changes = {k: v for k, v in changes.items() if k not in ("pupil_ids", "count")}
            changes["pupils"] = f"this pupil and {others} other{'' if others == 1 else 's'}"
        if entry.id in refused:
            changes = {"refused_rows": [r for r in changes.get("refused_rows") or []
                                        if isinstance(r, list) and pupil.upn in r]}
        out.append({"at": entry.at, "who": _who(names, entry.staff_id), "record": f"{entry.entity} #{entry.entity_id}",
                    "action": entry.action, "changes": changes})
    return out


def _audit(session: Session, pupil: Pupil, names: dict[int, str]) -> list[dict[str, Any]]:
    events = session.scalars(select(AuditEvent).where(AuditEvent.pupil_id == pupil.id)
                             .order_by(AuditEvent.at, AuditEvent.id))
    return [{"at": e.at, "who": _who(names, e.staff_id), "action": describe(e), "detail": detail_text(e)}
            for e in events]


def _tracking(session: Session, pupil: Pupil) -> dict[str, list[dict[str, Any]]]:
    """The pupil's results, attendance and interventions (the tracking area's records)."""
    results = session.scalars(select(AttainmentResult).where(AttainmentResult.pupil_id == pupil.id)
                              .order_by(AttainmentResult.assessed_on, AttainmentResult.subject))
    periods = session.scalars(select(AttendancePeriod).where(AttendancePeriod.pupil_id == pupil.id)
                              .order_by(AttendancePeriod.starts_on))
    plans = session.scalars(select(Intervention).join(
        intervention_members, intervention_members.c.intervention_id == Intervention.id)
        .where(intervention_members.c.pupil_id == pupil.id).order_by(Intervention.starts_on))
    return {
        "attainment": [{"subject": r.subject, "assessment": r.assessment, "date": r.assessed_on, "scale": r.scale,
                        "result": r.result, "target": r.target, "prediction": r.prediction} for r in results],
        "attendance": [{"from": a.starts_on, "to": a.ends_on, "percent": a.percent, "possible": a.possible,
                        "attended": a.attended} for a in periods],
        "interventions": [{"title": i.title, "kind": i.kind, "starts_on": i.starts_on, "review_on": i.review_on,
                           "ends_on": i.ends_on, "status": i.status, "success_criterion": i.success_criterion,
                           "notes": [{"date": n.noted_on, "text": n.text} for n in i.notes]} for i in plans],
    }


def subject_access_record(session: Session, pupil: Pupil, admin: StaffUser, now: datetime) -> dict[str, Any]:
    """Return everything held about `pupil` as plain data (the caller has checked the role)."""
    staff_ids = set(session.scalars(select(AuditEvent.staff_id).where(AuditEvent.pupil_id == pupil.id)))
    staff_ids |= set(session.scalars(select(SupportEntry.author_id).where(SupportEntry.pupil_id == pupil.id)))
    staff_ids |= set(session.scalars(select(SupportEntry.updated_by_id).where(SupportEntry.pupil_id == pupil.id)))
    history = history_of(session, pupil)
    staff_ids |= {e.staff_id for e in history.all}
    names = _staff_names(session, staff_ids)
    record = {field: getattr(pupil, field) for field in PUPIL_FIELDS}
    return {
        "generated_at": now,
        "generated_by": admin.name,
        "pupil": record,
        "school": {"name": pupil.school.name, "urn": pupil.school.urn},
        "groups": _groups(session, pupil),
        "flags": _flags(session, pupil),
        "access_codes": _codes(session, pupil),
        "responses": _responses(session, pupil),
        "support": _support(session, pupil, names),
        "change_history": _history(history, pupil, names),
        **_tracking(session, pupil),
        "audit_entries": _audit(session, pupil, names),
        "reviews": review_records(session, pupil.id),
    }


def held_counts(session: Session, pupil: Pupil) -> dict[str, int]:
    """Return how many responses, answers, support entries, codes and groups the pupil has."""
    response_ids = select(Response.id).where(Response.pupil_id == pupil.id)
    count = lambda stmt: session.scalar(select(func.count()).select_from(stmt.subquery())) or 0  # noqa: E731
    return {
        "responses": count(response_ids),
        "answers": count(select(Answer.id).where(Answer.response_id.in_(response_ids))),
        "support_entries": count(select(SupportEntry.id).where(SupportEntry.pupil_id == pupil.id)),
        "access_codes": count(select(AccessCode.id).where(AccessCode.pupil_id == pupil.id)),
        "groups": count(select(group_members.c.group_id).where(group_members.c.pupil_id == pupil.id)),
        "audit_entries": count(select(AuditEvent.id).where(AuditEvent.pupil_id == pupil.id)),
    }
