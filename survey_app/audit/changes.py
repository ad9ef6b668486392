"""Recording changes: who changed what, and when (read by the change history pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import ChangeLog, StaffUser
from ..models.base import utcnow
from .log import record_change_event


def record_change(
    session: Session, staff: StaffUser | None, entity: str, entity_id: int, action: str,
    changes: dict[str, Any],
) -> ChangeLog:
    """Add one change-log entry (committed with the change it describes)."""
    entry = ChangeLog(
        at=utcnow(), staff_id=staff.id if staff else None, entity=entity, entity_id=entity_id,
        action=action, changes=changes,
    )
    session.add(entry)
    # The audit log keeps who changed which record, even after erasure removes the values here.
    record_change_event(session, entry.staff_id, entity, entity_id, action, changes)
    return entry


def diff_fields(obj: Any, new_values: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for the values that differ, and apply them to `obj`."""
    changed = {}
    for field, value in new_values.items():
        old = getattr(obj, field)
        if old != value:
            changed[field] = [old, value]
            setattr(obj, field, value)
    return changed
