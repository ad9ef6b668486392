"""The audit log: who signed in, who viewed or exported whose data, who changed what.

Each entry is one AuditEvent row, written once and never edited or deleted by the app
(the one exception is erasure, which unlinks a pupil's entries; see services/erasure.py).
Entries hold no passwords, access codes or field values: a change entry names the
record and the fields that changed, and the values stay in the change history
(ChangeLog), where erasure can remove them.

Functions here take explicit arguments and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Pupil, StaffUser
from ..models.base import utcnow
from ..models.staff import EMAIL_PATTERN, normalise_email

SIGNED_IN = "signed in"
SIGN_IN_REFUSED = "sign-in refused"
SIGNED_OUT = "signed out"
EXPORTED = "exported"
PUPIL_ERASED = "pupil erased"
VIEW_ACTIONS = ("viewed profile", "printed profile", "viewed subject access")
# A mirrored change's action is "<entity>: <what happened>", e.g. "pupil: edited".
CHANGE_SEPARATOR = ": "
# The sign-in route records its own entry, with the address the request came from.
NOT_MIRRORED = {("staff", "signed in")}
MAX_ACTION = 60


@dataclass(frozen=True)
class ActionKind:
    """A choice in the audit page's "What" filter and the condition it stands for."""

    key: str
    label: str

    def condition(self) -> ColumnElement[bool]:
        action = AuditEvent.action
        if self.key == "sign-in":
            return action.in_((SIGNED_IN, SIGN_IN_REFUSED, SIGNED_OUT))
        if self.key == "refused":
            return action == SIGN_IN_REFUSED
        if self.key == "views":
            return action.in_(VIEW_ACTIONS)
        if self.key == "changes":
            return action.like(f"%{CHANGE_SEPARATOR}%")
        if self.key == "staff":
            return action.like(f"staff{CHANGE_SEPARATOR}%")
        if self.key == "exports":
            return action == EXPORTED
        if self.key == "erasures":
            return action == PUPIL_ERASED
        return false()


ACTION_KINDS = [
    ActionKind("sign-in", "Signing in and out"),
    ActionKind("refused", "Refused sign-ins only"),
    ActionKind("views", "Viewing a pupil's profile or records"),
    ActionKind("changes", "Changes to pupils, groups, rounds, schools and staff"),
    ActionKind("staff", "Changes to staff accounts"),
    ActionKind("exports", "Downloads and exports"),
    ActionKind("erasures", "Pupils erased"),
]
KIND_BY_KEY = {kind.key: kind for kind in ACTION_KINDS}


def jsonable(value: Any) -> Any:
    """Return `value` with dates and times as ISO text, ready for JSON."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def record_event(session: Session, staff_id: int | None, action: str, pupil_id: int | None = None,
                 **detail: Any) -> AuditEvent:
    """Add one audit entry (committed with the caller's transaction) and return it.

    `staff_id` None means the command line or a scheduled job. `detail` must not hold
    passwords or access codes; dates and times in it are stored as ISO text.
    """
    event = AuditEvent(at=utcnow(), staff_id=staff_id, action=action[:MAX_ACTION], pupil_id=pupil_id,
                       detail=jsonable(detail))
    session.add(event)
    return event


def record_export(session: Session, staff_id: int | None, what: str, *, pupil_id: int | None = None,
                  **detail: Any) -> AuditEvent:
    """Record that someone downloaded or exported data: `what` in plain words (e.g.
    "access codes (CSV)"), `detail` the selection (round id, group, rows). Returns the entry."""
    return record_event(session, staff_id, EXPORTED, pupil_id, what=what, **detail)


def record_sign_in(session: Session, user: StaffUser, address: str | None) -> AuditEvent:
    """Record a successful staff sign-in and the address it came from."""
    return record_event(session, user.id, SIGNED_IN, address=address)


def record_sign_in_refused(session: Session, email: str | None, message: str | None,
                           address: str | None) -> AuditEvent:
    """Record a refused sign-in, with the reason read from the refusal `message`. Never
    stores the password.

    When the email belongs to an account the entry is filed under that account; otherwise
    the typed email is kept only if it looks like one (someone who typed their password in
    the email box must not find it in the log).
    """
    typed = normalise_email(email or "")[:254]
    user = session.scalar(select(StaffUser).where(StaffUser.email == typed)) if typed else None
    if user is None:
        shown = typed if EMAIL_PATTERN.match(typed) else "(not an email address)"
        return record_event(session, None, SIGN_IN_REFUSED, reason="no account has that email",
                            email=shown, address=address)
    text = (message or "").lower()
    if "must wait" in text:
        reason = "waiting after too many wrong passwords from this address"
    elif "switched off" in text:
        reason = "account switched off"
    elif not user.password_hash:
        reason = "no password set yet"
    else:
        reason = "wrong password"
    return record_event(session, user.id, SIGN_IN_REFUSED, reason=reason, address=address)


def record_sign_out(session: Session, staff_id: int, address: str | None) -> AuditEvent:
    """Record that a member of staff signed out."""
    return record_event(session, staff_id, SIGNED_OUT, address=address)


def pupils_named(entity: str, entity_id: int, changes: dict[str, Any]) -> list[int]:
    """Return the ids of the pupils a change-log entry is about (none, one or several)."""
    if entity == "pupil":
        return [entity_id]
    ids = []
    if isinstance(changes.get("pupil_id"), int):
        ids.append(changes["pupil_id"])
    if isinstance(changes.get("pupil_ids"), list):
        ids += [i for i in changes["pupil_ids"] if isinstance(i, int)]
    return list(dict.fromkeys(ids))


def record_change_event(session: Session, staff_id: int | None, entity: str, entity_id: int, action: str,
                        changes: dict[str, Any]) -> None:
    """Mirror a change-log entry into the audit log: one entry per pupil it is about (or
    one entry when it is about none), naming the record and the changed fields only."""
    if (entity, action) in NOT_MIRRORED:
        return
    label = f"{entity}{CHANGE_SEPARATOR}{action}"
    # Which pupils it concerns is the entry's pupil link, not one of its fields.
    fields = sorted(str(k) for k in changes if k not in ("pupil_id", "pupil_ids"))
    detail = {"entity": entity, "entity_id": entity_id, "fields": fields}
    pupils: Iterable[int | None] = pupils_named(entity, entity_id, changes) or [None]
    now = utcnow()
    session.add_all([AuditEvent(at=now, staff_id=staff_id, action=label[:MAX_ACTION], pupil_id=pupil_id,
                                detail=detail) for pupil_id in pupils])


# ----- reading -----------------------------------------------------------------------


@dataclass
class AuditFilters:
    """A search of the audit log; every part is optional. None means "any"; an empty list
    means nobody matched (so no entries). Times are UTC bounds."""

    staff_ids: list[int] | None = None
    pupil_ids: list[int] | None = None
    kind: str = ""
    since: datetime | None = None
    before: datetime | None = None


def search(filters: AuditFilters) -> Select:
    """Return the SELECT of the audit entries the filters keep, newest first."""
    stmt = select(AuditEvent)
    if filters.staff_ids is not None:
        stmt = stmt.where(AuditEvent.staff_id.in_(filters.staff_ids) if filters.staff_ids else false())
    if filters.pupil_ids is not None:
        stmt = stmt.where(AuditEvent.pupil_id.in_(filters.pupil_ids) if filters.pupil_ids else false())
    if filters.kind:
        stmt = stmt.where(KIND_BY_KEY[filters.kind].condition())
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.at >= filters.since)
    if filters.before is not None:
        stmt = stmt.where(AuditEvent.at < filters.before)
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def staff_matching(session: Session, text: str, limit: int = 50) -> list[StaffUser]:
    """Return the staff whose email is `text`, else whose name or email contains it."""
    text = " ".join(text.split()).lower()
    exact = list(session.scalars(select(StaffUser).where(StaffUser.email == text)))
    if exact:
        return exact
    pattern = _like(text)
    return list(session.scalars(
        select(StaffUser).where(or_(func.lower(StaffUser.name).like(pattern, escape="\\"),
                                    StaffUser.email.like(pattern, escape="\\")))
        .order_by(StaffUser.name).limit(limit)))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def pupils_matching(session: Session, pupils: Select, text: str, limit: int) -> list:
    """Return the pupils of `pupils` (a Scope's SELECT) whose UPN is `text`, else whose
    name contains it; at most `limit` + 1, so the caller can tell there were more."""
    text = " ".join(text.split())
    by_upn = list(session.scalars(pupils.where(Pupil.upn == text.upper().replace(" ", ""))))
    if by_upn:
        return by_upn
    pattern = _like(text.lower())
    return list(session.scalars(pupils.where(or_(
        func.lower(Pupil.first_name + " " + Pupil.surname).like(pattern, escape="\\"),
        func.lower(Pupil.surname + " " + Pupil.first_name).like(pattern, escape="\\"),
    )).order_by(Pupil.surname, Pupil.first_name, Pupil.id).limit(limit + 1)))


def describe(event: AuditEvent) -> str:
    """Return an entry's action in plain words for pages and CSV files."""
    action = event.action
    detail = event.detail or {}
    if action == EXPORTED:
        return f"Exported {detail.get('what', 'data')}"
    if CHANGE_SEPARATOR in action:
        entity, _, what = action.partition(CHANGE_SEPARATOR)
        return f"Changed {entity}: {what}"
    return action[:1].upper() + action[1:]


SKIP_DETAIL = {"what", "entity", "entity_id"}


def detail_text(event: AuditEvent) -> str:
    """Return the entry's details as "key: value; key: value" (plain text, for CSV and pages)."""
    parts = []
    detail = event.detail or {}
    if detail.get("entity") and detail.get("entity_id") is not None:
        parts.append(f"{detail['entity']} #{detail['entity_id']}")
    for key, value in detail.items():
        if key in SKIP_DETAIL or value is None or value == "" or value == []:
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)
