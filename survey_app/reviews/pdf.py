"""Conversation sheets, family summaries and the letter to families as PDF, with fpdf2
(as the code slips are): DejaVu embedded when the system has it, so any name prints.

Each pupil starts a new page; a batch is one file. `progress(done, total, name)` is
called after each pupil, so the command line can show how far it has gone.

A family summary in another language is drawn only in a script DejaVu holds and fpdf2 can
draw letter by letter (Latin): Arabic, Urdu, Bengali and Gurmukhi need text shaping, which
is not installed here, so those are refused (`pdf_can_draw`) and printed from the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ..questionnaires.translations import SOURCE_LANGUAGE
from ..rounds.slips import DEJAVU_DIR
from .family_words import family_words, in_language, page_language
from .sheets import ConversationSheet, FamilySummary
from .wording import AREA_WORDS, OUTCOME_WORDS, attendance_words, change_words, result_words

Progress = Callable[[int, int, str], None]
MARGIN = 15.0
# Scripts fpdf2 draws here with DejaVu letter by letter (uharfbuzz, for shaping, is not installed).
PDF_SCRIPTS = {"Latn"}


def _fonts_present(font_dir: Path | None) -> bool:
    return font_dir is not None and all((font_dir / f).is_file() for f in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"))


def pdf_can_draw(code: str, font_dir: Path | None = DEJAVU_DIR) -> bool:
    """Return True when a family summary in `code` can be drawn as a PDF: English always;
    another language when DejaVu is installed and the language is written in a script of
    PDF_SCRIPTS (its code's script subtag, else its usual script in the Unicode CLDR)."""
    if code == SOURCE_LANGUAGE:
        return True
    if not _fonts_present(font_dir):
        return False  # (Helvetica holds Latin-1 only: no ŵ, no ł)
    try:
        locale = Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    script = locale.script or next((part for part in get_global("likely_subtags").get(
        locale.language, "").split("_")[1:] if len(part) == 4), None)
    return script in PDF_SCRIPTS


def _quiet(_done: int, _total: int, _name: str) -> None:
    return None


class _Doc:
    """A4 pages of headings, paragraphs, bullet lists and lines to write on."""

    def __init__(self, title: str, font_dir: Path | None = DEJAVU_DIR):
        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf.set_auto_page_break(True, margin=MARGIN)
        self.pdf.set_creator("Pupil attitude survey")
        regular, bold = (font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf") if font_dir else (None, None)
        if regular and regular.is_file() and bold.is_file():
            self.pdf.add_font("dejavu", "", str(regular))
            self.pdf.add_font("dejavu", "B", str(bold))
            self.family, self.unicode = "dejavu", True
        else:
            self.family, self.unicode = "helvetica", False
        self.pdf.set_title(self.clean(title))

    def clean(self, text: str) -> str:
        if self.unicode:
            return text
        return text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').replace(
            "\u2013", "-").replace("\u2014", "-").encode("latin-1", "replace").decode("latin-1")

    def page(self) -> None:
        self.pdf.add_page()

    def heading(self, text: str, size: float = 13) -> None:
        self.pdf.set_font(self.family, "B", size)
        self.pdf.ln(2)
        self.pdf.multi_cell(0, size * 0.5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1)

    def para(self, text: str, size: float = 10.5, style: str = "") -> None:
        self.pdf.set_font(self.family, style, size)
        self.pdf.multi_cell(0, size * 0.5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1)

    def bullets(self, items: Sequence[str], size: float = 10.5) -> None:
        self.pdf.set_font(self.family, "", size)
        for item in items:
            self.pdf.set_x(MARGIN + 2)
            self.pdf.multi_cell(0, size * 0.5, self.clean(f"\u2022  {item}" if self.unicode else f"-  {item}"),
                                new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1)

    def writing_lines(self, count: int) -> None:
        self.pdf.set_draw_color(150)
        for _ in range(count):
            self.pdf.ln(8)
            y = self.pdf.get_y()
            self.pdf.line(MARGIN, y, self.pdf.w - MARGIN, y)
        self.pdf.ln(3)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _target_lines(targets) -> list[str]:
    lines = []
    for t in targets:
        outcome = OUTCOME_WORDS.get(t.outcome, "open") if t.outcome else "open"
        steps = sum(1 for s in t.steps if s.done_on)
        ladder = f"; steps done {steps} of {len(t.steps)}" if t.steps else ""
        area = AREA_WORDS.get(t.area, t.area) + (f" ({t.detail})" if t.detail else "")
        lines.append(f"{area}: {t.words} (review {t.review_on.strftime('%-d %b %Y')}; {outcome}{ladder})")
    return lines


def _draw_sheet(doc: _Doc, sheet: ConversationSheet) -> None:
    p = sheet.pupil
    doc.page()
    doc.heading(f"Conversation sheet: {p.display_name}", 15)
    doc.para(f"{p.school.name} \u00b7 Year {p.year_group}"
             + (f" \u00b7 latest round: {sheet.round_name}" if sheet.round_name else " \u00b7 no finished round yet"),
             9.5)
    doc.heading("What they feel good about")
    doc.bullets([f"{f.name}: {f.strength or f.description}" for f in sheet.strengths]
                or ["No clear strength in the latest answers: ask what is going well."])
    doc.heading("To talk about")
    for point in sheet.talking_points:
        doc.para(point.factor.name, 10.5, "B")
        doc.bullets([*point.questions, *(f"Idea: {i}" for i in point.ideas)], 9.5)
    if not sheet.talking_points:
        doc.para("Nothing stands out; ask what they would like to get better at.")
    if sheet.previous_round_name:
        doc.heading(f"Change since \u201c{sheet.previous_round_name}\u201d")
        doc.bullets([f"{c.factor.name}: {change_words(c)}" for c in sheet.changes], 9.5)
    doc.heading("In their own words")
    if sheet.hope and (sheet.hope.hopes or sheet.hope.better_at):
        dash = "\u2014"
        doc.bullets([f"I hope for: {sheet.hope.hopes or dash}",
                     f"One thing I want to get better at: {sheet.hope.better_at or dash}"])
    else:
        doc.para("They have not written their hopes yet.")
    doc.heading("Attendance and attainment")
    standing = sheet.standing
    doc.bullets([attendance_words(standing),
                 *([result_words(s) for s in standing.subjects] if standing and standing.subjects
                   else ["No attainment imported."])], 9.5)
    doc.heading("Targets from last time")
    doc.bullets(_target_lines(sheet.targets) or ["No targets yet."], 9.5)
    doc.heading("Targets agreed today (area, words, who agreed, steps, review date)")
    doc.writing_lines(6)


def sheets_pdf(sheets: Sequence[ConversationSheet], title: str = "Conversation sheets",
               progress: Progress = _quiet) -> bytes:
    """Return one PDF of the sheets, each pupil from a new page."""
    doc = _Doc(title)
    for i, sheet in enumerate(sheets, start=1):
        _draw_sheet(doc, sheet)
        progress(i, len(sheets), sheet.pupil.display_name)
    if not sheets:
        doc.page()
        doc.para("No pupils in this group.")
    return doc.output()


def _draw_family(doc: _Doc, s: FamilySummary) -> None:
    words = family_words(s)
    doc.page()
    doc.heading(words.title, 16)
    doc.para(words.intro)
    doc.heading(words.good_heading)
    doc.bullets(s.good_about or [words.good_none])
    doc.heading(words.working_heading)
    doc.bullets(s.working_on or [words.working_none])
    if s.targets:
        doc.heading(words.targets_heading)
        doc.bullets([t.words for t in s.targets])
    if s.help_at_home:
        doc.heading(words.help_heading)
        doc.bullets(s.help_at_home)
    doc.heading(words.contact_heading)
    doc.para(words.contact)


def family_pdf(summaries: Sequence[FamilySummary], title: str = "Family summaries",
               progress: Progress = _quiet) -> bytes:
    """Return one PDF of the family summaries, one page per pupil, each in its own language
    (its words through the catalogs). Refuses (ValueError) a summary in a language
    `pdf_can_draw` refuses."""
    if unusable := sorted({s.language for s in summaries if not pdf_can_draw(s.language)}):
        raise ValueError(f"a PDF cannot draw the script of {', '.join(unusable)}")
    doc = _Doc(title)
    for i, summary in enumerate(summaries, start=1):
        with in_language(page_language(summary)):
            _draw_family(doc, summary)
        progress(i, len(summaries), summary.pupil.display_name)
    if not summaries:
        doc.page()
        doc.para("No pupils in this group.")
    return doc.output()
