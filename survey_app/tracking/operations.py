"""Interventions: the writes (each one transaction's worth, with its change-log and audit
record; the caller commits). Explicit arguments; no request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import Intervention, InterventionNote, School, StaffUser
from ..models.tracking import INTERVENTION_KINDS, INTERVENTION_STATUSES, intervention_members

MEASURES = {
    "": "(none)",
    "factor_out_of_lowest": "a targeted factor out of the lowest band",
    "factor_at_least": "a targeted factor's score at least the value",
    "attendance_at_least": "attendance at least the value (%)",
}


class InterventionError(ValueError):
    """The plan cannot be saved as given; the message says why, in words."""


@dataclass
class Plan:
    """What an intervention is, as a form gives it."""

    title: str
    kind: str
    starts_on: date
    review_on: date
    success_criterion: str
    owner_id: int | None
    ends_on: date | None = None
    factors: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    attendance: bool = False
    measure: str = ""
    measure_factor: str | None = None
    measure_value: float | None = None

    def check(self) -> None:
        """Refuse (InterventionError) a plan whose parts do not fit together."""
        if self.kind not in INTERVENTION_KINDS:
            raise InterventionError("Choose the kind of intervention.")
        if self.review_on < self.starts_on:
            raise InterventionError("The review date must not be before the start.")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise InterventionError("The end must not be before the start.")
        if not (self.factors or self.subjects or self.attendance):
            raise InterventionError("Say what it targets: one or more factors, subjects or attendance.")
        if self.measure not in MEASURES:
            raise InterventionError("Choose a measurable criterion from the list, or none.")
        if self.measure.startswith("factor") and self.measure_factor not in self.factors:
            raise InterventionError("The measurable criterion must be about one of the factors it targets.")
        if self.measure in ("factor_at_least", "attendance_at_least") and (
                self.measure_value is None or not 0 <= self.measure_value <= 100):
            raise InterventionError("Give the value of the measurable criterion, from 0 to 100.")


def _described(plan: Plan) -> dict:
    return {"title": plan.title, "kind": plan.kind, "starts_on": plan.starts_on.isoformat(),
            "review_on": plan.review_on.isoformat(), "ends_on": plan.ends_on.isoformat() if plan.ends_on else None,
            "targets": {"factors": plan.factors, "subjects": plan.subjects, "attendance": plan.attendance},
            "owner_id": plan.owner_id, "measure": plan.measure or None}


def create_intervention(session: Session, staff: StaffUser, school: School, plan: Plan, pupil_ids: list[int],
                        group_id: int | None = None) -> Intervention:
    """Add an intervention at `school` for `pupil_ids` (a group's pupils at the start, or one
    pupil); the caller has checked that they are the staff member's to plan for. Refuses
    (InterventionError) a plan that does not fit together, or one without pupils."""
    plan.check()
    if not pupil_ids:
        raise InterventionError("There is no pupil to plan for.")
    intervention = Intervention(
        school_id=school.id, group_id=group_id, title=plan.title, kind=plan.kind, owner_id=plan.owner_id,
        targets={"factors": plan.factors, "subjects": plan.subjects, "attendance": plan.attendance},
        starts_on=plan.starts_on, review_on=plan.review_on, ends_on=plan.ends_on,
        success_criterion=plan.success_criterion, measure=plan.measure or None,
        measure_factor=plan.measure_factor if plan.measure.startswith("factor") else None,
        measure_value=plan.measure_value if plan.measure.endswith("at_least") else None,
        status="active", created_by_id=staff.id)
    session.add(intervention)
    session.flush()
    session.execute(insert(intervention_members), [{"intervention_id": intervention.id, "pupil_id": p}
                                                   for p in sorted(set(pupil_ids))])
    record_change(session, staff, "intervention", intervention.id, "created",
                  {**_described(plan), "pupil_ids": sorted(set(pupil_ids)), "group_id": group_id})
    return intervention


def add_note(session: Session, staff: StaffUser, intervention: Intervention, noted_on: date,
             text: str) -> InterventionNote:
    """Add a dated note to the intervention's timeline."""
    note = InterventionNote(intervention_id=intervention.id, noted_on=noted_on, text=text, author_id=staff.id)
    session.add(note)
    session.flush()
    record_change(session, staff, "intervention", intervention.id, "added a note",
                  {"note_id": note.id, "noted_on": noted_on.isoformat()})
    return note


def set_status(session: Session, staff: StaffUser, intervention: Intervention, status: str,
               review_on: date | None, ends_on: date | None) -> dict:
    """Change the status, next review date and end; return the changes ({} when none).
    Refuses (InterventionError) an unknown status or dates before the start."""
    if status not in INTERVENTION_STATUSES:
        raise InterventionError("Choose a status from the list.")
    for day in (review_on, ends_on):
        if day is not None and day < intervention.starts_on:
            raise InterventionError("Dates must not be before the start.")
    changes = {}
    for name, value in (("status", status), ("review_on", review_on or intervention.review_on),
                        ("ends_on", ends_on)):
        old = getattr(intervention, name)
        if old != value:
            changes[name] = [old.isoformat() if isinstance(old, date) else old,
                             value.isoformat() if isinstance(value, date) else value]
            setattr(intervention, name, value)
    if changes:
        record_change(session, staff, "intervention", intervention.id, "updated", changes)
    return changes
