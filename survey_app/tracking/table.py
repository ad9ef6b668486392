"""The tracking list as a table: columns, cells in words, sorting, filtering and the files.

The page, the CSV and XLSX downloads and `export-tracking` all come from `table_of`, so
what a lead filters and sorts is what they export. Pure code over plain rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..files.cells import safe_cell
from ..models.people import short_year
from . import patterns as pt
from .queries import TrackingList, TrackingRow

SEN = {"N": "", "K": "SEN support", "E": "EHC plan"}
PARTS = {"score", "change", "result", "target", "prediction", "versus", "point"}
VERSUS = {"above": "above target", "on": "on target", "below": "below target"}
_OPERATOR = re.compile(r"^\s*(<=|>=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    kind: str = "text"  # "factor", "subject", "pattern" for the page's styling


@dataclass(slots=True)
class Cell:
    text: str
    sort: object  # a number for numeric columns, else lower-case text
    css: str = ""
    link: str | None = None
    detail: str = ""  # shown under the text on the page (a pattern's reasons)


def _change(cell) -> str:
    if cell.change is None:
        return ""
    mark = {"reliable rise": " reliable rise", "reliable fall": " reliable fall"}.get(cell.verdict or "", "")
    return f"{cell.change:+.0f}{mark}"


def columns_of(tracking: TrackingList, detailed: bool = False) -> list[Column]:
    """Return the columns: one per factor and per subject (four each when `detailed`, for files)."""
    if detailed:
        cols = [Column("name", "Pupil"), Column("upn", "UPN"), Column("year", "Year", True),
                Column("school", "School"), Column("sen", "SEN"), Column("fsm", "FSM"), Column("eal", "EAL"),
                Column("flags", "Flags"), Column("round", "Latest round")]
    else:  # the page: what a meeting looks at first, then the rest
        cols = [Column("name", "Pupil"), Column("year", "Year", True), Column("patterns", "Patterns", kind="pattern")]
    for key, name in tracking.factors:
        if detailed:
            cols += [Column(f"f:{key}:score", f"{name} score", True), Column(f"f:{key}", f"{name} band"),
                     Column(f"f:{key}:change", f"{name} change since the round before")]
        else:
            cols.append(Column(f"f:{key}", name, kind="factor"))
    for subject in tracking.subjects:
        if detailed:
            cols += [Column(f"s:{subject}:result", f"{subject} result"),
                     Column(f"s:{subject}:target", f"{subject} target"),
                     Column(f"s:{subject}:prediction", f"{subject} prediction"),
                     Column(f"s:{subject}:versus", f"{subject} against target"),
                     Column(f"s:{subject}:point", f"{subject} assessment")]
        else:
            cols.append(Column(f"s:{subject}", subject, kind="subject"))
    cols += [Column("attendance", "Attendance %", True), Column("interventions", "Open interventions"),
             Column("targets", "Open targets")]
    if detailed:
        cols += [Column("patterns", "Patterns", kind="pattern")]
        cols += [Column(f"p:{p.key}", f"{p.name}: why") for p in pt.PATTERNS]
    else:
        cols += [Column("sen", "SEN"), Column("fsm", "FSM"), Column("eal", "EAL"), Column("flags", "Flags"),
                 Column("school", "School"), Column("round", "Latest round")]
    return cols


SIMPLE = {
    "name": lambda r: r.name, "upn": lambda r: r.upn, "school": lambda r: r.school,
    "sen": lambda r: SEN.get(r.sen, r.sen), "fsm": lambda r: "FSM" if r.fsm else "",
    "eal": lambda r: "EAL" if r.eal else "", "flags": lambda r: ", ".join(r.flags),
    "round": lambda r: r.round_name or "", "interventions": lambda r: "; ".join(t for _, t in r.interventions),
    "targets": lambda r: "; ".join(r.targets),
}


def cell_of(row: TrackingRow, key: str) -> Cell:
    """Return the cell of `row` in column `key`."""
    return getter(key)(row)


def getter(key: str) -> Callable[[TrackingRow], Cell]:
    """Return the function that makes a row's cell in column `key` (the key is read once,
    not once per row: a school's list has tens of thousands of cells)."""
    simple = SIMPLE.get(key)
    if simple is not None:
        if key == "name":
            return lambda row: Cell(row.name, row.name.lower(), link=str(row.pupil_id))
        return lambda row: Cell(simple(row), simple(row).lower())
    if key == "year":
        return lambda row: Cell(short_year(row.year_group), row.year_group)
    if key == "attendance":
        return lambda row: Cell("" if row.attendance is None else f"{row.attendance:g}", row.attendance)
    if key == "patterns":
        return _patterns_cell
    kind, _, rest = key.partition(":")
    name, part = rest, ""
    if rest.rpartition(":")[2] in PARTS:
        name, _, part = rest.rpartition(":")
    if kind == "f":
        return lambda row: _factor_cell(row.factors.get(name), part)
    if kind == "s":
        return lambda row: _subject_cell(row.subjects.get(name), part)
    if kind == "p":
        return lambda row: _pattern_reason(row, rest)
    return lambda row: Cell("", "")


def _patterns_cell(row: TrackingRow) -> Cell:
    text = "; ".join(h.name for h in row.patterns)
    return Cell(text, text.lower(), detail="\n".join(f"{h.name}: {h.reason}" for h in row.patterns))


def _pattern_reason(row: TrackingRow, pattern: str) -> Cell:
    hit = next((h for h in row.patterns if h.key == pattern), None)
    return Cell(hit.reason if hit else "", hit.reason.lower() if hit else "")


def _factor_cell(f, part: str) -> Cell:
    if f is None:
        return Cell("", None if part else "")
    if part == "score":
        return Cell("" if f.score is None else f"{f.score:.0f}", f.score)
    if part == "change":
        return Cell(_change(f), f.change)
    text = (f.band_label or "") + (f" ({_change(f)})" if f.change is not None else "")
    return Cell(text, f.score, css=f"cell-{f.band}" if f.band else "")


def _subject_cell(s, part: str) -> Cell:
    if s is None:
        return Cell("", "")
    if part in ("result", "target", "prediction"):
        value = getattr(s, part) or ""
        return Cell(value, value.lower())
    if part == "point":
        return Cell(f"{s.assessment} ({s.assessed_on.isoformat()})", s.assessed_on.isoformat())
    versus = VERSUS.get(s.versus or "", "")
    rank = {"below": 0, "on": 1, "above": 2}.get(s.versus or "", -1)
    if part == "versus":
        return Cell(versus, rank)
    text = s.result + (f" (target {s.target}, {versus})" if s.target else "")
    text += f"; predicted {s.prediction}" if s.prediction else ""
    return Cell(text, rank, css=f"versus-{s.versus}" if s.versus else "")


def matches(cell: Cell, wanted: str, numeric: bool) -> bool:
    """Return whether `cell` passes the filter `wanted`: a number comparison ("<90", ">=5")
    on numeric columns, else the text contained in the cell (ignoring case)."""
    match = _OPERATOR.match(wanted) if numeric else None
    if match:
        if not isinstance(cell.sort, int | float):
            return False
        op, value = match.group(1), float(match.group(2))
        return {"<": cell.sort < value, "<=": cell.sort <= value, ">": cell.sort > value,
                ">=": cell.sort >= value, "=": cell.sort == value}[op]
    return wanted.strip().lower() in cell.text.lower()


def table_of(tracking: TrackingList, filters: Mapping[str, str] | None = None, sort: str | None = None,
             descending: bool = False, detailed: bool = False) -> tuple[list[Column], list[list[Cell]]]:
    """Return (columns, rows of cells), filtered on any column ({key: text}) and sorted on any
    column (blank cells last); unknown column keys are ignored."""
    cols = columns_of(tracking, detailed)
    page_cols = {c.key: c for c in columns_of(tracking, False)} | {c.key: c for c in cols}
    rows = tracking.rows
    for key, wanted in (filters or {}).items():
        if key in page_cols and wanted.strip():
            make = getter(key)
            rows = [r for r in rows if matches(make(r), wanted, page_cols[key].numeric)]
    if sort in page_cols:
        make = getter(sort)
        keyed = [(make(r).sort, r) for r in rows]
        present = [(k, r) for k, r in keyed if k not in (None, "")]
        present.sort(key=lambda pair: pair[0], reverse=descending)
        rows = [r for _, r in present] + [r for k, r in keyed if k in (None, "")]
    makers = [getter(c.key) for c in cols]
    return cols, [[make(r) for make in makers] for r in rows]


def to_csv(cols: list[Column], rows: list[list[Cell]]) -> str:
    """Return the table as CSV text, cells a spreadsheet would run as formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.label for c in cols])
    for cells in rows:
        writer.writerow([safe_cell(c.text) for c in cells])
    return buffer.getvalue()


def to_xlsx(cols: list[Column], rows: list[list[Cell]], note: str) -> bytes:
    """Return the table as an XLSX workbook (numbers as numbers), with the patterns note."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Tracking"
    sheet.append([c.label for c in cols])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cells in rows:
        sheet.append([c.sort if col.numeric and isinstance(c.sort, int | float) else _text(c.text)
                      for col, c in zip(cols, cells, strict=True)])
    sheet.freeze_panes = "B2"
    notes = book.create_sheet("About")
    notes.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: str) -> str:
    # openpyxl would store a cell starting with "=" as a formula.
    return safe_cell(value) if isinstance(value, str) else value
