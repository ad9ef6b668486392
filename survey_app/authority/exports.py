"""The authority dashboard as tables, and those tables as CSV and XLSX, each with the
privacy note (every figure here is protected). Text cells are neutralised
(files.cells.safe_cell); withheld numbers are blank cells."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..files.cells import safe_cell
from .dashboard import Dashboard

TITLE = "Authority view: schools side by side"
BLANK_NOTE = "A blank number is withheld: fewer pupils than the suppression threshold, or it would give one away."


@dataclass(frozen=True)
class Table:
    title: str
    sheet: str
    header: list[str]
    rows: list[list[object]]


def build_tables(board: Dashboard) -> list[Table]:
    """Return the dashboard's tables: means by school, changes, participation, partnerships."""
    names = {s.id: s.name for s in board.schools}
    tables = []
    header = ["School", "Factor", "Pupils", "Mean", "95% CI lower", "95% CI upper", "Funnel"]
    rows = []
    for t in board.tables:
        for sid, c in t.cells.items():
            rows.append([names[sid], t.name, c.n, c.mean, c.lower, c.upper, c.flag])
        rows.append(["All schools", t.name, t.total.n, t.total.mean, t.total.lower, t.total.upper, ""])
    tables.append(Table("Mean per factor by school", "Means", header, rows))
    if board.changes:
        rows = []
        for t in board.changes:
            for sid, c in t.cells.items():
                rows.append([names[sid], t.name, c.n, c.mean, c.lower, c.upper])
            rows.append(["All schools", t.name, t.total.n, t.total.mean, t.total.lower, t.total.upper])
        tables.append(Table("Change per school (pupils in both)", "Change",
                            ["School", "Factor", "Pupils", "Mean change", "95% CI lower", "95% CI upper"], rows))
    rows = []
    for r in board.participation_rounds:
        for s in board.schools:
            cell = board.participation.get((r.id, s.id))
            if cell is not None:
                rows.append([r.name, r.opens_at.date().isoformat(), s.name, cell.invited, cell.finished,
                             None if cell.rate is None else round(cell.rate, 1)])
    tables.append(Table("Participation per school and round", "Participation",
                        ["Round", "Opens", "School", "Invited", "Finished", "Finished (%)"], rows))
    rows = []
    for view in board.brokered:
        for p in view.schools:
            rows.append([view.name, view.started_on.isoformat(), p.school, p.role, view.factor,
                         p.before.mean, p.before.lower, p.before.upper, p.after.mean, p.after.lower, p.after.upper])
    if rows:
        tables.append(Table("Brokered partnerships: change before and after the start", "Partnerships",
                            ["Partnership", "Started", "School", "Part", "Factor", "Change before",
                             "lower", "upper", "Change after", "lower", "upper"], rows))
    return tables


def _about(board: Dashboard) -> list[list[str]]:
    rounds = ", ".join(f"{r.name} ({r.opens_at.date().isoformat()})" for r in board.selected)
    lines = [[TITLE], ["Authority", board.authority.name], ["Rounds", rounds]]
    if board.compared:
        lines.append(["Compared with", ", ".join(r.name for r in board.compared)])
    lines += [["Made", board.generated_at.strftime("%Y-%m-%d %H:%M UTC")],
              ["Privacy", board.privacy_note], ["Blank cells", BLANK_NOTE]]
    if board.lag_notice:
        lines.append(["Replica", board.lag_notice])
    return lines


def _cell(value: object) -> object:
    return "" if value is None else safe_cell(value)


def dashboard_csv(board: Dashboard) -> str:
    """Return the dashboard as CSV: the description, then each table in a titled section."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in _about(board):
        writer.writerow([safe_cell(v) for v in line])
    for t in build_tables(board):
        writer.writerow([])
        writer.writerow([safe_cell(t.title)])
        writer.writerow([safe_cell(board.privacy_note)])
        writer.writerow([safe_cell(h) for h in t.header])
        writer.writerows([[_cell(v) for v in row] for row in t.rows])
    return out.getvalue()


def dashboard_xlsx(board: Dashboard) -> bytes:
    """Return an XLSX workbook: an "About" sheet with the privacy note, then a sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEF1F4")
    book = Workbook()
    about = book.active
    about.title = "About"
    for line in _about(board):
        about.append([safe_cell(v) for v in line])
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 100
    for t in build_tables(board):
        sheet = book.create_sheet(t.sheet[:31])
        sheet.append([safe_cell(h) for h in t.header])
        for cell in sheet[1]:
            cell.font = bold
        for values in t.rows:
            sheet.append([safe_cell(v) for v in values])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if cell.value is None:
                    cell.fill = grey
        sheet.freeze_panes = "A2"
        sheet.append([])
        sheet.append([safe_cell(board.privacy_note)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
