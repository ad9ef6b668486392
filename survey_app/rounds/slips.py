"""A round's codes: which a member of staff may see, making missing ones, replacing a lost
one, and the slips, CSV and text printed from them.

From "plain slip data" on, everything is pure: plain data in, PDF bytes or text out, so
it is tested without an app.

A sheet is A4 portrait with 10 mm margins cut into 3 x 8 = 24 slips, the same on the
print page (slips.css) and in the PDF.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from fpdf import FPDF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..audit.changes import record_change
from ..files.cells import safe_row
from ..models import AccessCode, Group, Pupil, School, StaffUser, SurveyRound, group_members
from ..pupil.codes import format_code, issue_codes, round_pupil_ids, unique_codes

COLUMNS, ROWS = 3, 8
PER_SHEET = COLUMNS * ROWS
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 10.0
SLIP_W = (PAGE_W - 2 * MARGIN) / COLUMNS
SLIP_H = (PAGE_H - 2 * MARGIN) / ROWS
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
CSV_FIELDS = ["code", "first_name", "surname", "year_group", "school", "groups", "used"]
INSTRUCTIONS = "Type your code. Check it is you."

# fontTools reports every subsetting step at INFO; the app's log needs none of it.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


# ----- which codes -------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRow:
    """One pupil's code for a round, with what a slip or a list shows about them."""

    pupil_id: int
    code: str
    first_name: str
    surname: str
    year_group: int
    school: str
    groups: tuple[str, ...]
    first_used_at: datetime | None
    reissued_at: datetime | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.surname}"

    @property
    def used(self) -> bool:
        return self.first_used_at is not None

    @property
    def printed_code(self) -> str:
        return format_code(self.code)


def code_rows(
    session: Session, survey_round: SurveyRound, scope: Scope | None = None,
    group_id: int | None = None, unused_only: bool = False, pupil_id: int | None = None,
) -> list[CodeRow]:
    """Return the round's codes of pupils who are not archived, by surname.

    With `scope`, only pupils it may see who are in one of the round's groups it may
    see (a teacher: their own groups); without, every code (commands). `group_id`
    keeps one group's pupils; `unused_only` the codes no pupil has used yet.
    """
    groups = scope.groups_of_round(session, survey_round) if scope else list(survey_round.groups)
    group_ids = [g.id for g in groups]
    stmt = (
        select(AccessCode.code, AccessCode.first_used_at, AccessCode.reissued_at, Pupil.id,
               Pupil.first_name, Pupil.surname, Pupil.year_group, School.name)
        .join(Pupil, Pupil.id == AccessCode.pupil_id)
        .join(School, School.id == Pupil.school_id)
        .where(AccessCode.round_id == survey_round.id, Pupil.archived.is_(False))
        .order_by(Pupil.surname, Pupil.first_name, Pupil.id)
    )
    if scope is not None or group_id is not None:
        wanted = [gid for gid in group_ids if group_id is None or gid == group_id]
        stmt = stmt.where(Pupil.id.in_(
            select(group_members.c.pupil_id).where(group_members.c.group_id.in_(wanted))
        ))
    if scope is not None:
        stmt = stmt.where(scope.pupil_condition())
    if unused_only:
        stmt = stmt.where(AccessCode.first_used_at.is_(None))
    if pupil_id is not None:
        stmt = stmt.where(Pupil.id == pupil_id)
    names: dict[int, list[str]] = {}
    for pid, group_name in session.execute(
        select(group_members.c.pupil_id, Group.name)
        .join(Group, Group.id == group_members.c.group_id)
        .where(group_members.c.group_id.in_(group_ids),
               group_members.c.pupil_id.in_(
                   select(AccessCode.pupil_id).where(AccessCode.round_id == survey_round.id)))
        .order_by(Group.name)
    ):
        names.setdefault(pid, []).append(group_name)
    return [
        CodeRow(pid, code, first, last, year, school, tuple(names.get(pid, ())), used_at, reissued)
        for code, used_at, reissued, pid, first, last, year, school in session.execute(stmt)
    ]


@dataclass(frozen=True)
class GroupCodes:
    """How many of a group's pupils have a code for the round, and how many used it."""

    group: Group
    pupils: int
    codes: int
    used: int


def group_code_counts(session: Session, scope: Scope, survey_round: SurveyRound) -> list[GroupCodes]:
    """Return, for each group of the round that `scope` may see, its pupils and codes."""
    groups = scope.groups_of_round(session, survey_round)
    counts = {
        gid: (pupils, codes, used)
        for gid, pupils, codes, used in session.execute(
            select(group_members.c.group_id, func.count(Pupil.id), func.count(AccessCode.id),
                   func.count(AccessCode.first_used_at))
            .join(Pupil, Pupil.id == group_members.c.pupil_id)
            .outerjoin(AccessCode, (AccessCode.pupil_id == Pupil.id)
                       & (AccessCode.round_id == survey_round.id))
            .where(group_members.c.group_id.in_([g.id for g in groups]),
                   Pupil.archived.is_(False), scope.pupil_condition())
            .group_by(group_members.c.group_id)
        )
    }
    return [GroupCodes(g, *counts.get(g.id, (0, 0, 0))) for g in groups]


# ----- missing and lost codes ---------------------------------------------------------


def pupils_without_codes(session: Session, survey_round: SurveyRound) -> int:
    """Return how many pupils of the round's groups have no code for it yet."""
    have = set(session.scalars(select(AccessCode.pupil_id).where(AccessCode.round_id == survey_round.id)))
    return len(set(round_pupil_ids(session, survey_round)) - have)


def issue_missing_codes(session: Session, staff: StaffUser | None,
                        survey_round: SurveyRound) -> int:
    """Give a code to every pupil of the round's groups who has none; return how many."""
    issued = issue_codes(session, survey_round, round_pupil_ids(session, survey_round))
    if issued:
        record_change(session, staff, "round", survey_round.id, "codes issued", {"codes_issued": issued})
    return issued


def reissue_code(session: Session, staff: StaffUser | None, access_code: AccessCode,
                 now: datetime) -> AccessCode:
    """Give the pupil a new code for the round in place of a lost one; return it.

    The old code stops signing in at once; answers already given stay with the pupil.
    The new code counts as not used yet, so it prints with the unused slips.
    """
    access_code.code = unique_codes(session, 1)[0]
    access_code.reissued_at = now
    access_code.first_used_at = None
    session.flush()
    # The code itself is a credential, so the log names the pupil, not the codes.
    record_change(session, staff, "round", access_code.round_id, "code reissued",
                  {"pupil_id": access_code.pupil_id})
    return access_code


# ----- plain slip data ---------------------------------------------------------------


@dataclass(frozen=True)
class Slip:
    """What one slip shows: who it is for, their groups and the code (as printed)."""

    name: str
    groups: str
    code: str


def slips_of(rows: Iterable[CodeRow]) -> list[Slip]:
    return [Slip(r.name, ", ".join(r.groups), r.printed_code) for r in rows]


def sheets(items: Sequence, per_sheet: int = PER_SHEET) -> list[Sequence]:
    """Return `items` cut into sheets of `per_sheet` (none when there are no items)."""
    return [items[i:i + per_sheet] for i in range(0, len(items), per_sheet)]


def display_address(url: str) -> str:
    """Return the address as a pupil types it: no scheme, no trailing slash."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url
    return (parts.netloc + parts.path).rstrip("/")


# ----- CSV and text ------------------------------------------------------------------


def csv_rows(rows: Iterable[CodeRow]) -> list[dict]:
    """Return one CSV row per code, every cell safe to open in a spreadsheet."""
    return [
        safe_row({"code": r.printed_code, "first_name": r.first_name, "surname": r.surname,
                  "year_group": r.year_group, "school": r.school, "groups": "; ".join(r.groups),
                  "used": "yes" if r.used else "no"})
        for r in rows
    ]


def codes_csv(rows: Iterable[CodeRow]) -> str:
    """Return the codes as CSV text with a header row (code, first_name, surname, ...)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(csv_rows(rows))
    return out.getvalue()


def aligned(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Return rows as text in columns padded to the widest cell (no trailing spaces)."""
    table = [list(header), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def codes_text(rows: Sequence[CodeRow], heading: str) -> str:
    """Return the codes as a readable table under `heading` (codes as ABCD-EFGH)."""
    used = sum(1 for r in rows if r.used)
    lines = [f"{heading}: {len(rows)} code(s), {used} used", ""]
    if rows:
        lines.append(aligned(
            ["CODE", "PUPIL", "YEAR", "SCHOOL", "GROUPS", "USED"],
            [[r.printed_code, r.name, str(r.year_group), r.school, ", ".join(r.groups),
              "yes" if r.used else "no"] for r in rows],
        ))
    return "\n".join(lines)


# ----- PDF ---------------------------------------------------------------------------


class _Fonts:
    """DejaVu embedded when present (any script it covers); else core fonts (Latin-1).

    A character the font cannot draw becomes '?', so no name stops a sheet printing.
    """

    def __init__(self, pdf: FPDF, font_dir: Path | None):
        files = {
            ("sans", ""): "DejaVuSans.ttf", ("sans", "B"): "DejaVuSans-Bold.ttf",
            ("mono", "B"): "DejaVuSansMono-Bold.ttf",
        }
        self.embedded = font_dir is not None and all((font_dir / f).is_file() for f in files.values())
        if self.embedded:
            for (family, style), filename in files.items():
                pdf.add_font(f"dejavu{family}", style, str(font_dir / filename))
            self.sans, self.mono = "dejavusans", "dejavumono"
        else:
            self.sans, self.mono = "helvetica", "courier"
        self.pdf = pdf

    def clean(self, text: str) -> str:
        """Return `text` with every character the current font lacks replaced."""
        if self.embedded:
            cmap = self.pdf.current_font.cmap
            return "".join(c if ord(c) in cmap or c.isspace() else "?" for c in text)
        return "".join(_latin1(c) for c in text)

    @property
    def ellipsis(self) -> str:
        return "\u2026" if self.embedded else "..."


_LATIN = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Œ": "OE",
          "œ": "oe", "Ŧ": "T", "ŧ": "t", "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"}


def _latin1(char: str) -> str:
    if ord(char) < 256:
        return char
    if char in _LATIN:
        return _LATIN[char]
    base = unicodedata.normalize("NFKD", char)[0]
    return base if ord(base) < 128 else "?"


def _fit(pdf: FPDF, fonts: _Fonts, text: str, family: str, style: str, size: float,
         width: float, smallest: float) -> str:
    """Set the font at the largest size down to `smallest` that fits; cut the text if need be."""
    pdf.set_font(family, style, size)
    text = fonts.clean(text)
    while pdf.get_string_width(text) > width and size > smallest:
        size -= 0.5
        pdf.set_font(family, style, size)
    if pdf.get_string_width(text) > width:
        while text and pdf.get_string_width(text + fonts.ellipsis) > width:
            text = text[:-1]
        text = text.rstrip() + fonts.ellipsis
    return text


def _centred(pdf: FPDF, text: str, x: float, width: float, baseline: float) -> None:
    pdf.text(x + (width - pdf.get_string_width(text)) / 2, baseline, text)


def _draw_slip(pdf: FPDF, fonts: _Fonts, slip: Slip, x: float, y: float, address: str) -> None:
    inner = SLIP_W - 6
    left = x + 3
    pdf.set_text_color(0)
    text = _fit(pdf, fonts, slip.name, fonts.sans, "B", 11, inner, 7)
    _centred(pdf, text, left, inner, y + 7)
    pdf.set_text_color(70)
    text = _fit(pdf, fonts, slip.groups, fonts.sans, "", 7.5, inner, 6)
    _centred(pdf, text, left, inner, y + 11)
    pdf.set_text_color(0)
    text = _fit(pdf, fonts, slip.code, fonts.mono, "B", 22, inner, 14)
    _centred(pdf, text, left, inner, y + 20.5)
    text = _fit(pdf, fonts, f"Go to {address}", fonts.sans, "B", 10, inner, 6.5)
    _centred(pdf, text, left, inner, y + 26.5)
    text = _fit(pdf, fonts, INSTRUCTIONS, fonts.sans, "", 10, inner, 7)
    _centred(pdf, text, left, inner, y + 31)


def _cut_lines(pdf: FPDF, count: int) -> None:
    """Dashed lines round the `count` slips of a sheet, each edge drawn once."""
    pdf.set_draw_color(90)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1.5, gap=1.2)
    for i in range(count):
        row, col = divmod(i, COLUMNS)
        x, y = MARGIN + col * SLIP_W, MARGIN + row * SLIP_H
        pdf.line(x, y, x + SLIP_W, y)
        pdf.line(x, y, x, y + SLIP_H)
        if col == COLUMNS - 1 or i == count - 1:
            pdf.line(x + SLIP_W, y, x + SLIP_W, y + SLIP_H)
        if i + COLUMNS >= count:
            pdf.line(x, y + SLIP_H, x + SLIP_W, y + SLIP_H)
    pdf.set_dash_pattern()


def slips_pdf(slips: Sequence[Slip], address: str, title: str = "",
              font_dir: Path | None = DEJAVU_DIR) -> bytes:
    """Return a PDF of the slips, 24 to an A4 page, with dashed cut lines.

    `address` is the site pupils go to; `title` (the round) heads each page in small
    type. No slips give one page that says so.
    """
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_creator("Pupil attitude survey")
    fonts = _Fonts(pdf, font_dir)
    pdf.set_font(fonts.sans, "", 10)
    pdf.set_title(fonts.clean(f"Code slips: {title}" if title else "Code slips"))
    pages = sheets(list(slips))
    if not pages:
        pdf.add_page()
        pdf.set_font(fonts.sans, "", 12)
        pdf.text(MARGIN, MARGIN + 10, "No codes to print.")
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_text_color(90)
        heading = _fit(pdf, fonts, f"{title} · sheet {number} of {len(pages)}".lstrip(" ·"),
                       fonts.sans, "", 7, PAGE_W - 2 * MARGIN, 6)
        pdf.text(MARGIN, MARGIN - 3, heading)
        _cut_lines(pdf, len(page))
        for i, slip in enumerate(page):
            row, col = divmod(i, COLUMNS)
            _draw_slip(pdf, fonts, slip, MARGIN + col * SLIP_W, MARGIN + row * SLIP_H, address)
    return bytes(pdf.output())
