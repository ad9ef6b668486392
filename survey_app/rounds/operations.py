"""Survey rounds: setting one up, changing its dates and groups, and finding it by name.

Routes and commands call these. Each takes the staff member and `now` explicitly and
refuses with RoundError, whose `problems` map a form field to a message safe to show.
A round's codes (listing, making missing ones, replacing lost ones, printing) live in
services/slips.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import (
    MODES,
    PHASES,
    AccessCode,
    Group,
    Partnership,
    Response,
    School,
    StaffUser,
    SurveyRound,
    group_members,
)
from ..pupil.codes import issue_codes, round_pupil_ids

PHASE_LABELS = {"before": "Before", "during": "During", "after": "After", "follow-up": "Follow-up"}
MODE_LABELS = {"single": "One statement at a time", "page": "A page of statements"}
NAME_MIN, NAME_MAX = 3, 200


class RoundError(ValueError):
    """A refused change to a round; `problems` maps a form field (or '') to a message."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__(" ".join(problems.values()))


class RoundNotFound(LookupError):
    """No single round answers to what was asked for; the message says why."""


# ----- time --------------------------------------------------------------------------


def local_to_utc(value: datetime, zone: str) -> datetime:
    """Return a naive wall-clock time in `zone` (what a datetime-local input sends) as UTC.

    A time that happens twice when the clocks go back is read as the first one.
    """
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return value.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def utc_to_local(value: datetime, zone: str) -> datetime:
    """Return a stored UTC time as a naive wall-clock time in `zone`, to the minute."""
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)


def _same_minute(a: datetime, b: datetime) -> bool:
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


# ----- owners ------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Who a round belongs to: a partnership or a single school (exactly one)."""

    partnership_id: int | None = None
    school_id: int | None = None

    @property
    def value(self) -> str:
        """The form value for this owner ('partnership:3', 'school:5')."""
        if self.partnership_id is not None:
            return f"partnership:{self.partnership_id}"
        return f"school:{self.school_id}"

    def condition(self):
        if self.partnership_id is not None:
            return SurveyRound.partnership_id == self.partnership_id
        return SurveyRound.school_id == self.school_id

    def fits(self, group: Group) -> bool:
        """Return True when `group` may take part in a round of this owner."""
        if self.partnership_id is not None:
            return group.partnership_id == self.partnership_id or (
                group.school is not None and group.school.partnership_id == self.partnership_id
            )
        return group.school_id == self.school_id


def owner_of_staff(user: StaffUser) -> Owner | None:
    """Return the owner of rounds a lead sets up: their partnership, else their school."""
    if user.partnership_id is not None:
        return Owner(partnership_id=user.partnership_id)
    if user.school_id is not None:
        return Owner(school_id=user.school_id)
    return None


def owner_of_round(survey_round: SurveyRound) -> Owner:
    return Owner(partnership_id=survey_round.partnership_id, school_id=survey_round.school_id)


def parse_owner(value: str | None) -> Owner | None:
    """Return the Owner a form value names, or None when it names nothing."""
    kind, _, ident = (value or "").partition(":")
    if not ident.isdigit() or len(ident) > 18:
        return None
    if kind == "partnership":
        return Owner(partnership_id=int(ident))
    if kind == "school":
        return Owner(school_id=int(ident))
    return None


def owner_choices(session: Session) -> list[tuple[str, str]]:
    """Return (value, label) for every partnership and school (for an administrator)."""
    choices = [
        (Owner(partnership_id=p.id).value, f"Partnership: {p.name}")
        for p in session.scalars(select(Partnership).order_by(Partnership.name))
    ]
    choices += [
        (Owner(school_id=s.id).value, f"School: {s.name}")
        for s in session.scalars(select(School).order_by(School.name))
    ]
    return choices


def owner_name(session: Session, owner: Owner) -> str:
    """Return the name of the partnership or school, or '' when it does not exist."""
    if owner.partnership_id is not None:
        row = session.get(Partnership, owner.partnership_id)
    else:
        row = session.get(School, owner.school_id) if owner.school_id is not None else None
    return row.name if row is not None else ""


# ----- finding a round ---------------------------------------------------------------


def find_round(session: Session, ident: str | int) -> SurveyRound:
    """Return the round whose id, or else whose exact name, is `ident`.

    Every command that takes `--round` resolves it here. A number is tried as an id
    first. Refuses (RoundNotFound) when nothing matches, or when several rounds share
    the name (the message lists their ids).
    """
    text = str(ident).strip()
    if not text:
        raise RoundNotFound("Give a round's id or its exact name.")
    if text.isascii() and text.isdigit() and len(text) <= 18:
        found = session.get(SurveyRound, int(text))
        if found is not None:
            return found
    matches = session.scalars(
        select(SurveyRound).where(SurveyRound.name == text).order_by(SurveyRound.id)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RoundNotFound(
            f"No survey round has the id or name '{text}'. "
            "`flask --app survey_app list-rounds` lists them."
        )
    ids = ", ".join(str(r.id) for r in matches)
    raise RoundNotFound(f"{len(matches)} rounds are named '{text}' (ids {ids}). Give the id instead.")


# ----- setting a round up ------------------------------------------------------------


@dataclass
class RoundSettings:
    """What staff choose for a round. Times are aware (UTC or any zone)."""

    name: str
    phase: str
    opens_at: datetime
    closes_at: datetime
    groups: list[Group] = field(default_factory=list)
    mode: str = "page"
    allow_finish_later: bool = True


def _started_pupils(session: Session, survey_round: SurveyRound, pupil_ids: set[int]) -> int:
    if not pupil_ids:
        return 0
    return session.scalar(
        select(func.count(Response.id)).where(
            Response.round_id == survey_round.id, Response.pupil_id.in_(pupil_ids)
        )
    ) or 0


def _pupils_of_groups(session: Session, group_ids: set[int]) -> set[int]:
    if not group_ids:
        return set()
    return set(session.scalars(
        select(group_members.c.pupil_id).where(group_members.c.group_id.in_(group_ids))
    ))


def _leaving_pupils(session: Session, survey_round: SurveyRound, new_ids: set[int]) -> set[int]:
    """Pupils with a code who are only in groups the new settings take out of the round."""
    removed = {g.id for g in survey_round.groups} - new_ids
    if not removed:
        return set()
    leaving = _pupils_of_groups(session, removed) - _pupils_of_groups(session, new_ids)
    if not leaving:
        return set()
    return set(session.scalars(
        select(AccessCode.pupil_id).where(
            AccessCode.round_id == survey_round.id, AccessCode.pupil_id.in_(leaving)
        )
    ))


def check_settings(
    session: Session, owner: Owner, settings: RoundSettings, now: datetime,
    existing: SurveyRound | None = None,
) -> dict[str, str]:
    """Return what is wrong with `settings` for a round of `owner` ({} when all is well).

    With `existing`, the checks are those of a change: an unchanged closing time may be
    in the past, and a round pupils have started cannot be moved to open later.
    """
    problems: dict[str, str] = {}
    name = settings.name.strip()
    if not NAME_MIN <= len(name) <= NAME_MAX:
        problems["name"] = f"Give the round a name of {NAME_MIN} to {NAME_MAX} characters."
    else:
        taken = select(SurveyRound.id).where(
            owner.condition(), func.lower(SurveyRound.name) == name.lower()
        )
        if existing is not None:
            taken = taken.where(SurveyRound.id != existing.id)
        if session.scalar(taken.limit(1)) is not None:
            problems["name"] = "There is already a round with this name. Choose another name."
    if settings.phase not in PHASES:
        problems["phase"] = "Choose before, during, after or follow-up."
    if settings.mode not in MODES:
        problems["mode"] = "Choose how pupils see the statements."

    closes_changed = existing is None or not _same_minute(existing.closes_at, settings.closes_at)
    opens_changed = existing is None or not _same_minute(existing.opens_at, settings.opens_at)
    if settings.closes_at <= settings.opens_at:
        problems["closes_at"] = "The closing time must be after the opening time."
    elif closes_changed and settings.closes_at <= now:
        problems["closes_at"] = "That closing time has already passed. Choose a time in the future."
    if (existing is not None and opens_changed and settings.opens_at > now
            and session.scalar(select(Response.id).where(Response.round_id == existing.id).limit(1))):
        problems["opens_at"] = (
            "Pupils have already started this round, so it cannot be moved to open later."
        )

    if not settings.groups:
        problems["groups"] = "Choose at least one group."
    else:
        strays = [g.name for g in settings.groups if not owner.fits(g)]
        if strays:
            problems["groups"] = (
                f"{', '.join(sorted(strays))} cannot take part: a round only includes groups "
                "of the partnership or school it belongs to."
            )
        elif existing is not None:
            leaving = _leaving_pupils(session, existing, {g.id for g in settings.groups})
            started = _started_pupils(session, existing, leaving)
            if started:
                problems["groups"] = (
                    f"{started} pupil(s) of the groups you took out have already started this "
                    "round, so those groups must stay."
                )
    return problems


def create_round(
    session: Session, staff: StaffUser | None, questionnaire_version_id: int, owner: Owner,
    settings: RoundSettings, now: datetime,
) -> SurveyRound:
    """Return a new round with a code for every pupil of its groups.

    Refuses (RoundError) what check_settings finds wrong; nothing is added then.
    """
    problems = check_settings(session, owner, settings, now)
    if problems:
        raise RoundError(problems)
    survey_round = SurveyRound(
        name=settings.name.strip(), phase=settings.phase,
        questionnaire_version_id=questionnaire_version_id,
        opens_at=settings.opens_at.astimezone(UTC), closes_at=settings.closes_at.astimezone(UTC),
        mode=settings.mode, allow_finish_later=settings.allow_finish_later,
        partnership_id=owner.partnership_id, school_id=owner.school_id,
        created_by_id=staff.id if staff else None, created_at=now,
        groups=list(settings.groups),
    )
    session.add(survey_round)
    session.flush()
    codes = issue_codes(session, survey_round, round_pupil_ids(session, survey_round))
    record_change(session, staff, "round", survey_round.id, "created", {
        "name": survey_round.name, "phase": survey_round.phase,
        "questionnaire_version_id": questionnaire_version_id,
        "opens_at": _iso(survey_round.opens_at), "closes_at": _iso(survey_round.closes_at),
        "groups": sorted(g.id for g in settings.groups), "mode": survey_round.mode,
        "allow_finish_later": survey_round.allow_finish_later, "codes_issued": codes,
    })
    return survey_round


@dataclass(frozen=True)
class RoundUpdate:
    changes: dict[str, Any]
    codes_issued: int
    codes_removed: int


def update_round(
    session: Session, staff: StaffUser | None, survey_round: SurveyRound,
    settings: RoundSettings, now: datetime,
) -> RoundUpdate:
    """Change a round's name, phase, dates, groups, mode and finish-later setting.

    Pupils of added groups get codes; unused codes of pupils who are only in removed
    groups are withdrawn. Refuses (RoundError) as check_settings does.
    """
    problems = check_settings(session, owner_of_round(survey_round), settings, now, survey_round)
    if problems:
        raise RoundError(problems)
    changes: dict[str, Any] = {}
    new_values = {"name": settings.name.strip(), "phase": settings.phase, "mode": settings.mode,
                  "allow_finish_later": settings.allow_finish_later}
    for name, value in new_values.items():
        if getattr(survey_round, name) != value:
            changes[name] = [getattr(survey_round, name), value]
            setattr(survey_round, name, value)
    for name in ("opens_at", "closes_at"):
        old, new = getattr(survey_round, name), getattr(settings, name).astimezone(UTC)
        if not _same_minute(old, new):
            changes[name] = [_iso(old), _iso(new)]
            setattr(survey_round, name, new)

    new_ids = {g.id for g in settings.groups}
    old_ids = {g.id for g in survey_round.groups}
    leaving = _leaving_pupils(session, survey_round, new_ids)
    removed_codes = 0
    if new_ids != old_ids:
        changes["groups"] = [sorted(old_ids), sorted(new_ids)]
        survey_round.groups = list(settings.groups)
        if leaving:
            removed_codes = session.execute(
                delete(AccessCode).where(
                    AccessCode.round_id == survey_round.id, AccessCode.pupil_id.in_(leaving)
                )
            ).rowcount or 0
    session.flush()
    issued = issue_codes(session, survey_round, round_pupil_ids(session, survey_round))
    if issued:
        changes["codes_issued"] = issued
    if removed_codes:
        changes["codes_withdrawn"] = removed_codes
    if changes:
        record_change(session, staff, "round", survey_round.id, "edited", changes)
    return RoundUpdate(changes, issued, removed_codes)


# ----- opening, closing, extending ---------------------------------------------------


def open_now(session: Session, staff: StaffUser | None, survey_round: SurveyRound,
             now: datetime) -> None:
    """Open a scheduled round straight away; refuses (RoundError) one that is not scheduled."""
    state = survey_round.state(now)
    if state != "scheduled":
        raise RoundError({"": f"This round is already {state}, so it cannot be opened now."})
    old = survey_round.opens_at
    survey_round.opens_at = now
    record_change(session, staff, "round", survey_round.id, "opened early",
                  {"opens_at": [_iso(old), _iso(now)]})


def close_now(session: Session, staff: StaffUser | None, survey_round: SurveyRound,
              now: datetime) -> None:
    """Close an open round straight away; refuses (RoundError) one that is not open."""
    state = survey_round.state(now)
    if state != "open":
        raise RoundError({"": f"This round is {state}, so it cannot be closed now."})
    old = survey_round.closes_at
    survey_round.closes_at = now
    record_change(session, staff, "round", survey_round.id, "closed early",
                  {"closes_at": [_iso(old), _iso(now)]})


def extend_round(session: Session, staff: StaffUser | None, survey_round: SurveyRound,
                 closes_at: datetime, now: datetime) -> None:
    """Move the closing time later (this reopens a closed round).

    Refuses (RoundError) a time not after the current closing time, or already past.
    """
    closes_at = closes_at.astimezone(UTC)
    if closes_at <= survey_round.closes_at:
        raise RoundError({"closes_at": "Choose a time later than the current closing time."})
    if closes_at <= now:
        raise RoundError({"closes_at": "That time has already passed. Choose a time in the future."})
    old = survey_round.closes_at
    survey_round.closes_at = closes_at
    record_change(session, staff, "round", survey_round.id, "extended",
                  {"closes_at": [_iso(old), _iso(closes_at)]})
