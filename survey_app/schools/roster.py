"""Roster import: checked rows (roster_csv.py) → a preview → one transaction.

`preview_import` compares the rows with the school's pupils without writing, and
`apply_import` writes the additions and changes in bulk. Routes and the `import-pupils`
command call the same functions.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..audit.changes import record_change
from ..flags.operations import describe, flags_settable_at_school, insert_members, names_list
from ..models import ChangeLog, Pupil, School, StaffUser, pupil_flag_members
from ..models.base import utcnow
from .roster_csv import DEFAULTS, ParsedRoster, RosterRow, RowProblem, _and
from .roster_groups import GroupPlan, apply_groups, plan_groups


@dataclass
class PlannedChange:
    """A row that changes an existing pupil: {field: [old, new]}."""

    row: RosterRow
    pupil_id: int
    changes: dict[str, list[Any]]
    had_flag_ids: list[int] | None = None  # with a flags column: the settable flags they had


@dataclass
class RosterPreview:
    """What an import would do; nothing has been written."""

    school_id: int
    fields: tuple[str, ...]
    columns: dict[str, list[str]] = field(default_factory=dict)  # as in ParsedRoster
    ignored: list[str] = field(default_factory=list)
    to_add: list[RosterRow] = field(default_factory=list)
    to_change: list[PlannedChange] = field(default_factory=list)
    unchanged: list[RosterRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    not_in_file: int = 0  # pupils on roll here whose UPN the file does not have
    # With a flags column, each good row's pupil gets exactly its listed flags among these
    # (the flags that may be set here); without one, flags are left alone.
    flags_given: bool = False
    settable_flag_ids: list[int] = field(default_factory=list)
    # With a classes column: the groups to make and the pupils who join them (roster_groups.py).
    groups: GroupPlan | None = None

    @property
    def writes(self) -> int:
        return len(self.to_add) + len(self.to_change)

    @property
    def joins(self) -> int:
        return len(self.groups.joins) if self.groups is not None else 0

    def digest(self) -> str:
        """Return a fingerprint of the planned writes (to notice a change before confirming)."""
        plan = [[r.upn, r.values] + ([r.flag_ids] if r.flag_ids else []) for r in self.to_add]
        plan += [[c.pupil_id, c.changes] for c in self.to_change]
        if self.groups is not None:
            plan += [self.groups.to_make, self.groups.joins]
        return hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class ImportResult:
    added: int
    changed: int
    unchanged: int
    refused: int
    log_id: int


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _unknown_flags(unknown: list[str], settable: list) -> str:
    quoted = _and([f"'{n}'" for n in unknown])
    what = f"flag {quoted} is not" if len(unknown) == 1 else f"flags {quoted} are not"
    if not settable:
        return (f"{what} known here: no flags can be set on this school's pupils yet (create them "
                "on the Pupil flags page)")
    return f"{what} one of the flags that can be set here ({names_list(settable)})"


def _check_flags(session: Session, school: School, parsed: ParsedRoster, scope: Scope | None,
                 preview: RosterPreview) -> tuple[list[RosterRow], dict[int, str]]:
    """Match each row's flag names (ignoring case) with the flags that may be set at `school`;
    return the rows that pass and {flag id: name}, and add the others to the preview's problems."""
    settable = flags_settable_at_school(session, scope, school)
    by_name = {f.name.lower(): f for f in settable}
    preview.flags_given = True
    preview.settable_flag_ids = [f.id for f in settable]
    rows = []
    for row in parsed.rows:
        unknown = [n for n in row.flags or [] if n.lower() not in by_name]
        if unknown:
            preview.problems.append(RowProblem(row.row, row.upn, row.name, [_unknown_flags(unknown, settable)]))
            continue
        chosen = sorted((by_name[n.lower()] for n in row.flags or []), key=lambda f: f.name.lower())
        rows.append(RosterRow(row.row, row.upn, row.values, [f.name for f in chosen], [f.id for f in chosen],
                              row.groups))
    return rows, {f.id: f.name for f in settable}


def _current_flags(session: Session, school: School, flag_ids: list[int]) -> dict[int, set[int]]:
    """Return {pupil id: ids among `flag_ids` they have} for the school's pupils (one query)."""
    current: dict[int, set[int]] = defaultdict(set)
    if flag_ids:
        for pupil_id, flag_id in session.execute(
            select(pupil_flag_members.c.pupil_id, pupil_flag_members.c.flag_id)
            .join(Pupil, Pupil.id == pupil_flag_members.c.pupil_id)
            .where(Pupil.school_id == school.id, pupil_flag_members.c.flag_id.in_(flag_ids))
        ):
            current[pupil_id].add(flag_id)
    return current


def preview_import(session: Session, school: School, parsed: ParsedRoster,
                   scope: Scope | None = None) -> RosterPreview:
    """Return what importing `parsed` into `school` would add, change and refuse.

    Reads the school's pupils in one query. A UPN is matched within `school` only: a
    pupil who is on roll elsewhere too (one who moved school) is added here like any new
    pupil, and nothing says so, because an import must not tell anyone which UPNs are on
    roll at schools they cannot see. With a flags column, a name that is not a flag
    `scope` may set at this school (any of the school's or its partnership's flags for the
    command line) refuses the row.
    """
    preview = RosterPreview(school.id, parsed.fields, columns=parsed.columns, ignored=parsed.ignored,
                            problems=list(parsed.problems))
    good_rows = parsed.rows
    current_flags: dict[int, set[int]] = {}
    flag_names: dict[int, str] = {}
    if "flags" in parsed.columns:
        good_rows, flag_names = _check_flags(session, school, parsed, scope, preview)
        current_flags = _current_flags(session, school, preview.settable_flag_ids)
    columns = [getattr(Pupil, f) for f in parsed.fields if f != "upn"]
    existing = {r.upn: r for r in session.execute(
        select(Pupil.id, Pupil.upn, Pupil.archived, *columns).where(Pupil.school_id == school.id))}
    new_rows = []
    for row in good_rows:
        pupil = existing.get(row.upn)
        if pupil is None:
            new_rows.append(row)
            continue
        changes = {f: [getattr(pupil, f), v] for f, v in row.values.items() if getattr(pupil, f) != v}
        had_flags = sorted(current_flags.get(pupil.id, ()))
        if row.flag_ids is not None and set(row.flag_ids) != set(had_flags):
            had = sorted((flag_names[fid] for fid in had_flags), key=str.lower)
            changes["flags"] = [describe(had), describe(row.flags or [])]
        if pupil.archived:
            changes["archived"] = [True, False]
        if changes:
            preview.to_change.append(PlannedChange(row, pupil.id, changes, had_flags))
        else:
            preview.unchanged.append(row)
    for row in new_rows:
        full = {**DEFAULTS, **row.values}
        preview.to_add.append(RosterRow(row.row, row.upn, full, row.flags, row.flag_ids, row.groups))
    if "groups" in parsed.columns:
        preview.groups = plan_groups(session, school, good_rows, {upn: r.id for upn, r in existing.items()})
    preview.problems.sort(key=lambda p: p.row)
    file_upns = {r.upn for r in parsed.rows} | {p.upn for p in parsed.problems}
    preview.not_in_file = sum(1 for upn, r in existing.items() if not r.archived and upn not in file_upns)
    return preview


def _loggable(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Return changes with dates as ISO text (the change log is JSON)."""
    return {f: [v.isoformat() if isinstance(v, date) else v for v in pair] for f, pair in changes.items()}


def _write_flags(session: Session, preview: RosterPreview, id_of: dict[str, int], now: datetime,
                 staff_id: int | None) -> list[dict[str, Any]]:
    """Give each pupil of the preview exactly their row's flags among the settable ones;
    return change-log rows for the flags (one per flag that gained or lost pupils)."""
    changed = [c for c in preview.to_change if "flags" in c.changes]
    added: dict[int, list[int]] = defaultdict(list)
    removed: dict[int, list[int]] = defaultdict(list)
    for c in changed:
        wanted, had = set(c.row.flag_ids or ()), set(c.had_flag_ids or ())
        for fid in wanted - had:
            added[fid].append(c.pupil_id)
        for fid in had - wanted:
            removed[fid].append(c.pupil_id)
    for r in preview.to_add:
        for fid in r.flag_ids or ():
            added[fid].append(id_of[r.upn])
    for chunk in _chunks([c.pupil_id for c in changed]):
        session.execute(delete(pupil_flag_members).where(
            pupil_flag_members.c.pupil_id.in_(chunk),
            pupil_flag_members.c.flag_id.in_(preview.settable_flag_ids)))
    members = [{"flag_id": fid, "pupil_id": c.pupil_id} for c in changed for fid in c.row.flag_ids or ()]
    members += [{"flag_id": fid, "pupil_id": id_of[r.upn]} for r in preview.to_add for fid in r.flag_ids or ()]
    insert_members(session, members)
    entries = []
    for action, by_flag in (("added pupils", added), ("removed pupils", removed)):
        for fid, pupil_ids in sorted(by_flag.items()):
            entries.append({"at": now, "staff_id": staff_id, "entity": "flag", "entity_id": fid,
                            "action": f"{action} (roster import)",
                            "changes": {"pupil_ids": pupil_ids, "count": len(pupil_ids)}})
    return entries


def apply_import(session: Session, school: School, staff: StaffUser | None, preview: RosterPreview,
                 filename: str = "") -> ImportResult:
    """Write the preview's additions and changes in one transaction; return the counts.

    Bulk statements only: one executemany INSERT for new pupils (and one SELECT of their
    ids), one executemany UPDATE for changed ones, one executemany INSERT for their
    change-log entries, plus a summary entry for the school. With a flags column, one
    DELETE (per 500 pupils) and one INSERT set exactly each row's flags. Does not commit; on any
    failure the session is rolled back, so nothing is written.
    """
    now = utcnow()
    try:
        summary = record_change(session, staff, "school", school.id, "imported pupils", {
            "filename": filename, "added": len(preview.to_add), "changed": len(preview.to_change),
            "unchanged": len(preview.unchanged), "refused": len(preview.problems),
            "refused_rows": [[p.row, p.upn, p.reason] for p in preview.problems],
            **({"groups_made": len(preview.groups.to_make), "joined_groups": len(preview.groups.joins)}
               if preview.groups is not None else {}),
        })
        session.flush()
        entries = []
        id_of: dict[str, int] = {}
        if preview.to_add:
            rows = [{"school_id": school.id, "upn": r.upn, **r.values, "archived": False,
                     "created_at": now, "updated_at": now} for r in preview.to_add]
            # A plain executemany, then one SELECT for the new ids: on PostgreSQL this is
            # several times faster than INSERT … RETURNING, whose long statements psycopg re-parses.
            session.execute(insert(Pupil), rows)
            id_of = dict(session.execute(select(Pupil.upn, Pupil.id).where(Pupil.school_id == school.id)).all())
            for r in preview.to_add:
                changes = {"upn": [None, r.upn]} | {f: [None, v] for f, v in r.values.items()}
                if r.flags:
                    changes["flags"] = [None, describe(r.flags)]
                entries.append({"at": now, "staff_id": summary.staff_id, "entity": "pupil",
                                "entity_id": id_of[r.upn], "action": "imported", "changes": _loggable(changes)})
        if preview.to_change:
            # Every changed row carries the same keys, so the UPDATE is one executemany.
            keys = [f for f in preview.fields if f != "upn"]
            session.execute(update(Pupil), [
                {"id": c.pupil_id, **{k: c.row.values[k] for k in keys}, "archived": False, "updated_at": now}
                for c in preview.to_change])
            entries += [{"at": now, "staff_id": summary.staff_id, "entity": "pupil", "entity_id": c.pupil_id,
                         "action": "updated by import", "changes": _loggable(c.changes)} for c in preview.to_change]
        if preview.flags_given and preview.settable_flag_ids:
            entries += _write_flags(session, preview, id_of, now, summary.staff_id)
        if preview.groups is not None and preview.groups.joins:
            all_ids = dict(session.execute(select(Pupil.upn, Pupil.id).where(Pupil.school_id == school.id)).all())
            apply_groups(session, school, preview.groups, all_ids, summary.staff_id)
        if entries:
            session.execute(insert(ChangeLog), entries)
        session.flush()
    except Exception:
        session.rollback()
        raise
    return ImportResult(len(preview.to_add), len(preview.to_change), len(preview.unchanged),
                        len(preview.problems), summary.id)
