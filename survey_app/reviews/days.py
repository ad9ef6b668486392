"""Review days: a lead sets one up for some groups (a date, a first slot, slots of 15
minutes), the timetable gives each pupil a slot, and each meeting is marked held with who
came; the completion view shows who still needs a meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..audit.changes import record_change
from ..models import Group, Pupil, School, StaffUser, group_members
from ..models.reviews import ReviewDay, ReviewMeeting, Target, withdrawn_pupil_ids
from .forms import WHO_CAME_CHOICES as WHO_CAME
from .operations import ReviewError


def slot_time(day: ReviewDay, slot: int) -> str:
    """Return the start of a slot as "09:15"."""
    start = datetime.combine(day.held_on, datetime.strptime(day.starts_at, "%H:%M").time())
    return (start + timedelta(minutes=day.slot_minutes * slot)).strftime("%H:%M")


def create_review_day(session: Session, staff: StaffUser, school: School, *, name: str, held_on: date,
                      starts_at: str, slot_minutes: int, groups: list[Group], now: datetime) -> ReviewDay:
    """Set up a review day and give every pupil of the groups (on roll, not withdrawn) a
    slot, group by group and by surname. Refuses (ReviewError) no groups, a bad time, a
    date in the past or slots outside 5-60 minutes."""
    if not groups:
        raise ReviewError("Choose at least one group.")
    try:
        datetime.strptime(starts_at, "%H:%M")
    except ValueError:
        raise ReviewError("Give the first slot's time as hours and minutes, like 08:45.") from None
    if held_on < now.date():
        raise ReviewError("The review day must not be in the past.")
    if not 5 <= slot_minutes <= 60:
        raise ReviewError("A slot lasts between 5 and 60 minutes.")
    day = ReviewDay(school_id=school.id, name=name.strip() or f"Review day {held_on.isoformat()}", held_on=held_on,
                    starts_at=starts_at, slot_minutes=slot_minutes, created_by_id=staff.id, created_at=now,
                    groups=groups)
    session.add(day)
    session.flush()
    seen: set[int] = set()
    for group in groups:
        pupil_ids = session.scalars(
            select(Pupil.id).join(group_members, group_members.c.pupil_id == Pupil.id)
            .where(group_members.c.group_id == group.id, Pupil.archived.is_(False), Pupil.school_id == school.id,
                   Pupil.id.not_in(withdrawn_pupil_ids()))
            .order_by(Pupil.surname, Pupil.first_name, Pupil.id))
        for pid in pupil_ids:
            if pid not in seen:
                session.add(ReviewMeeting(review_day_id=day.id, pupil_id=pid, slot=len(seen), updated_at=now))
                seen.add(pid)
    session.flush()
    record_change(session, staff, "review day", day.id, "added", {"school_id": school.id, "pupils": len(seen),
                                                                   "groups": [g.id for g in groups]})
    return day


def mark_meeting(session: Session, staff: StaffUser, meeting: ReviewMeeting, *, held: bool, who_came: list[str],
                 now: datetime) -> dict:
    """Record whether the meeting was held and who came; return what changed. Refuses
    (ReviewError) someone not in WHO_CAME, or people who came to a meeting not held."""
    if any(w not in WHO_CAME for w in who_came):
        raise ReviewError("Choose who came from the list.")
    if who_came and not held:
        raise ReviewError("Tick \u201cheld\u201d for a meeting people came to.")
    came = ", ".join(w for w in WHO_CAME if w in who_came) or None
    changed = {}
    if meeting.held != held:
        changed["held"] = [meeting.held, held]
    if meeting.who_came != came:
        changed["who_came"] = [meeting.who_came, came]
    if changed:
        meeting.held, meeting.who_came, meeting.updated_at = held, came, now
        record_change(session, staff, "review meeting", meeting.id, "marked", {"pupil_id": meeting.pupil_id,
                                                                               **changed})
    return changed


@dataclass(frozen=True)
class MeetingRow:
    meeting: ReviewMeeting
    time: str
    targets_agreed: int


def day_rows(session: Session, day: ReviewDay, pupil_condition) -> list[MeetingRow]:
    """Return the day's meetings the staff member may see (by slot), with the number of
    targets agreed for each pupil on the day."""
    meetings = session.scalars(
        select(ReviewMeeting).join(Pupil, Pupil.id == ReviewMeeting.pupil_id)
        .where(ReviewMeeting.review_day_id == day.id, pupil_condition)
        .options(selectinload(ReviewMeeting.pupil)).order_by(ReviewMeeting.slot)).all()
    ids = [m.pupil_id for m in meetings]
    start = datetime.combine(day.held_on, time(0), tzinfo=UTC)
    agreed = dict(session.execute(
        select(Target.pupil_id, func.count(Target.id)).where(
            Target.pupil_id.in_(ids), Target.created_at >= start, Target.created_at < start + timedelta(days=1))
        .group_by(Target.pupil_id)).all()) if ids else {}
    return [MeetingRow(m, slot_time(day, m.slot), int(agreed.get(m.pupil_id, 0))) for m in meetings]
