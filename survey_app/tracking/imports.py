"""Attainment and attendance imports: checked rows (files.py) → a preview → one transaction.

Idempotent: a row is matched with what the pupil (by UPN, within the school) already has
for the same subject and assessment point, or the same attendance period, so importing a
file twice changes nothing the second time. The command line and the school's page call
the same functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import AttainmentResult, AttendancePeriod, Pupil, School, StaffUser
from ..models.base import utcnow
from .files import CheckedFile, CheckedRow, RowProblem, read_attainment, read_attendance


@dataclass(frozen=True)
class Kind:
    name: str  # "attainment" or "attendance"
    model: type
    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    read: Callable[[str], CheckedFile]
    label: str


ATTAINMENT = Kind("attainment", AttainmentResult, ("subject", "assessment"),
                  ("subject", "assessment", "assessed_on", "scale", "result", "result_value", "target",
                   "target_value", "prediction", "prediction_value"), read_attainment, "results")
ATTENDANCE = Kind("attendance", AttendancePeriod, ("starts_on", "ends_on"),
                  ("starts_on", "ends_on", "possible", "attended", "percent"), read_attendance,
                  "attendance periods")
KINDS = {k.name: k for k in (ATTAINMENT, ATTENDANCE)}


@dataclass
class ImportPreview:
    """What an import would do; nothing has been written."""

    kind: Kind
    school_id: int
    to_add: list[tuple[CheckedRow, int]] = field(default_factory=list)  # (row, pupil id)
    to_change: list[tuple[CheckedRow, int, dict[str, list[Any]]]] = field(default_factory=list)  # (row, id, diff)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.to_add) + len(self.to_change)

    def digest(self) -> str:
        """Return a fingerprint of the planned writes (to notice a change before confirming)."""
        plan = [[r.upn, r.values] for r, _ in self.to_add] + [[i, d] for _, i, d in self.to_change]
        return hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _match_key(kind: Kind, values: dict[str, Any]) -> tuple:
    return tuple(str(values[c]).lower() if kind is ATTAINMENT else values[c] for c in kind.key_columns)


def preview_import(session: Session, school: School, kind: Kind, checked: CheckedFile) -> ImportPreview:
    """Return what importing `checked` into `school` would add, change and refuse.

    A UPN is looked for among this school's pupils only (an import tells nobody which UPNs
    are on roll elsewhere); a UPN that is not there refuses the row. Two queries.
    """
    preview = ImportPreview(kind, school.id, problems=list(checked.problems))
    pupil_of = dict(session.execute(select(Pupil.upn, Pupil.id).where(Pupil.school_id == school.id)).all())
    model = kind.model
    existing = {}
    for row in session.execute(select(model).join(Pupil, Pupil.id == model.pupil_id)
                               .where(Pupil.school_id == school.id)).scalars():
        existing[(row.pupil_id, *_match_key(kind, {c: getattr(row, c) for c in kind.key_columns}))] = row
    for row in checked.rows:
        pupil_id = pupil_of.get(row.upn)
        if pupil_id is None:
            preview.problems.append(RowProblem(row.row, row.upn, [
                f"no pupil with UPN {row.upn} is on roll at {school.name} (import the roster first)"]))
            continue
        old = existing.get((pupil_id, *_match_key(kind, row.values)))
        if old is None:
            preview.to_add.append((row, pupil_id))
            continue
        diff = {c: [getattr(old, c), row.values.get(c)] for c in kind.value_columns
                if getattr(old, c) != row.values.get(c)}
        if diff:
            preview.to_change.append((row, old.id, diff))
        else:
            preview.unchanged += 1
    preview.problems.sort(key=lambda p: p.row)
    return preview


@dataclass
class ImportResult:
    added: int
    changed: int
    unchanged: int
    refused: int
    log_id: int


def apply_import(session: Session, school: School, staff: StaffUser | None, preview: ImportPreview,
                 filename: str = "", progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Write the preview's additions and changes in one transaction; return the counts.

    Bulk statements in chunks of 1,000 rows (`progress(done, total)` after each); one change-log
    entry (and audit record) for the school. Does not commit; on any failure the session is
    rolled back, so nothing is written.
    """
    kind, model, now = preview.kind, preview.kind.model, utcnow()
    total, done = preview.writes, 0
    try:
        summary = record_change(session, staff, "school", school.id, f"imported {kind.name}", {
            "filename": filename, "added": len(preview.to_add), "changed": len(preview.to_change),
            "unchanged": preview.unchanged, "refused": len(preview.problems),
            "refused_rows": [[p.row, p.upn, p.reason] for p in preview.problems],
        })
        session.flush()
        adds = [{"pupil_id": pid, **{c: r.values.get(c) for c in kind.value_columns}, "imported_at": now}
                for r, pid in preview.to_add]
        changes = [{"id": rid, **{c: r.values.get(c) for c in kind.value_columns}, "imported_at": now}
                   for r, rid, _ in preview.to_change]
        for batch, statement in ((adds, insert(model)), (changes, update(model))):
            for start in range(0, len(batch), 1000):
                session.execute(statement, batch[start:start + 1000])
                done += len(batch[start:start + 1000])
                if progress:
                    progress(done, total)
        session.flush()
    except Exception:
        session.rollback()
        raise
    return ImportResult(len(preview.to_add), len(preview.to_change), preview.unchanged, len(preview.problems),
                        summary.id)


def stored_counts(session: Session, school: School) -> dict[str, int]:
    """Return how many results and attendance periods the school's pupils have."""
    out = {}
    for kind in KINDS.values():
        out[kind.name] = session.scalar(select(func.count()).select_from(kind.model).join(
            Pupil, Pupil.id == kind.model.pupil_id).where(Pupil.school_id == school.id)) or 0
    return out
