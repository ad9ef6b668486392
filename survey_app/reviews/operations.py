"""The writes of the reviews area: explicit arguments, one audit record each; the caller
has checked scope and commits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import Pupil, StaffUser, SurveyRound
from ..models.reviews import TARGET_AREAS, TARGET_OUTCOMES, RoundReviewSettings, Target, TargetStep

MAX_STEPS = 5


class ReviewError(ValueError):
    """A refused change; the message is safe to show."""


def save_sharing(session: Session, staff: StaffUser, survey_round: SurveyRound, *, show_results: bool,
                 pupil_voice: bool, safeguarding_lead_id: int | None, family_contact: str, now: datetime
                 ) -> RoundReviewSettings:
    """Set what a round shares with pupils and families. Refuses (ReviewError) pupil voice
    without a designated safeguarding lead."""
    if pupil_voice and not safeguarding_lead_id:
        raise ReviewError("Name the designated safeguarding lead before asking pupils for comments.")
    settings = session.get(RoundReviewSettings, survey_round.id)
    if settings is None:
        settings = RoundReviewSettings(round_id=survey_round.id)
        session.add(settings)
    settings.show_results, settings.pupil_voice = show_results, pupil_voice
    settings.safeguarding_lead_id = safeguarding_lead_id or None
    settings.family_contact = family_contact.strip() or None
    settings.updated_at = now
    session.flush()
    record_change(session, staff, "round", survey_round.id, "sharing changed", {
        "show_results": show_results, "pupil_voice": pupil_voice,
        "safeguarding_lead_id": settings.safeguarding_lead_id})
    return settings


def add_target(session: Session, staff: StaffUser, pupil: Pupil, *, area: str, detail: str | None, words: str,
               agreed: tuple[bool, bool, bool], steps: list[str], review_on: date, now: datetime,
               meeting_id: int | None = None) -> Target:
    """Add a target with its ladder of steps (at most MAX_STEPS). Refuses (ReviewError) an
    unknown area, empty words, nobody agreeing, or a review date in the past."""
    if area not in TARGET_AREAS:
        raise ReviewError("Choose the area of the target.")
    if not words or not words.strip():
        raise ReviewError("Write the target in the words you agreed.")
    if not any(agreed):
        raise ReviewError("Tick who agreed the target.")
    if review_on < now.date():
        raise ReviewError("The review date must not be in the past.")
    steps = [s.strip() for s in steps if s and s.strip()]
    if len(steps) > MAX_STEPS:
        raise ReviewError(f"A ladder has at most {MAX_STEPS} steps.")
    target = Target(
        pupil_id=pupil.id, area=area, detail=(detail or "").strip() or None if area in ("subject", "factor") else None,
        words=words.strip(), agreed_pupil=agreed[0], agreed_tutor=agreed[1], agreed_parent=agreed[2],
        review_on=review_on, meeting_id=meeting_id, created_by_id=staff.id, created_at=now, updated_at=now,
        steps=[TargetStep(position=i, words=s) for i, s in enumerate(steps, start=1)],
    )
    session.add(target)
    session.flush()
    record_change(session, staff, "target", target.id, "added", {"pupil_id": pupil.id, "area": area,
                                                                 "steps": len(steps)})
    return target


def review_target(session: Session, staff: StaffUser, target: Target, *, done_step_ids: set[int],
                  outcome: str | None, today: date, now: datetime) -> dict:
    """Tick the steps done (a step ticked keeps its first date; unticked loses it) and set
    the outcome; return what changed. Refuses (ReviewError) an unknown outcome or step."""
    if outcome and outcome not in TARGET_OUTCOMES:
        raise ReviewError("Choose one of the outcomes.")
    known = {s.id for s in target.steps}
    if done_step_ids - known:
        raise ReviewError("That step is not part of this target.")
    changed: dict = {}
    for step in target.steps:
        if step.id in done_step_ids and step.done_on is None:
            step.done_on = today
            changed[f"step {step.position}"] = ["not done", today.isoformat()]
        elif step.id not in done_step_ids and step.done_on is not None:
            changed[f"step {step.position}"] = [step.done_on.isoformat(), "not done"]
            step.done_on = None
    outcome = outcome or None
    if outcome != target.outcome:
        changed["outcome"] = [target.outcome, outcome]
        target.outcome = outcome
        target.reviewed_on = today if outcome else None
    if changed:
        target.updated_at = now
        record_change(session, staff, "target", target.id, "reviewed", {"pupil_id": target.pupil_id, **changed})
    return changed
