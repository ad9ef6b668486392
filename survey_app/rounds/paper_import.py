"""Paper-answers files: read and check a CSV, import its rows, and the template."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..audit.changes import record_change
from ..models import Answer, Group, Pupil, Response, StaffUser, SurveyRound, group_members, round_groups
from ..pupil.answers import AnswerRefused, sequence_now, store_scores
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from .paper_entry import CHUNK, create_responses, how_entered, mark_entered, upsert_answers

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_ROWS = 5000  # the default of PAPER_IMPORT_MAX_ROWS
# A UPN repeated on many rows names this many of the others, then how many more.
ROWS_NAMED = 5
UPN_HEADER = "UPN"
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
NUMBER = re.compile(r"^[+-]?\d+(?:\.0+)?$")


class ImportFileError(ValueError):
    """A file that cannot be imported at all; `errors` lists every problem found."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def read_upload(data: bytes, filename: str) -> str:
    """Return the text of an uploaded paper-answers file.

    Refuses (ImportFileError) a file over 1 MB, a spreadsheet workbook or anything not
    named .csv, and text that is not UTF-8.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportFileError([
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is 1 MB. "
            "Split it into smaller files and upload each one."])
    if data.startswith(WORKBOOK_SIGNATURES):
        raise ImportFileError([
            "This is a spreadsheet workbook, not a CSV file. In your spreadsheet choose "
            "Save As (or Download) and pick 'CSV UTF-8', then upload that file."])
    if not filename.lower().endswith(".csv"):
        raise ImportFileError([
            "Upload a CSV file (its name ends in .csv). In your spreadsheet choose Save As "
            "and pick 'CSV UTF-8'."])
    if not data.strip():
        raise ImportFileError(["The file is empty."])
    if b"\x00" in data:
        raise ImportFileError(["This file is not text, so it is not a CSV file."])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError([
            "The file is not UTF-8 text. In your spreadsheet choose Save As and pick "
            "'CSV UTF-8', then upload that file."]) from None


@dataclass(frozen=True)
class CheckedRow:
    """A row that can be imported: its pupil, the answers, and what is stored already."""

    row: int
    upn: str
    pupil_id: int
    pupil_name: str
    answers: dict[str, int]
    answered_before: int | None  # answers of the response in progress; None when new


@dataclass(frozen=True)
class RowProblem:
    row: int
    upn: str
    problems: tuple[str, ...]


@dataclass
class AnswersCheck:
    """What a paper-answers file would import, and the rows refused (by spreadsheet row)."""

    columns: list[str]
    good: list[CheckedRow] = field(default_factory=list)
    bad: list[RowProblem] = field(default_factory=list)
    blank_rows: int = 0

    @property
    def answers(self) -> int:
        return sum(len(r.answers) for r in self.good)

    @property
    def continued(self) -> int:
        return sum(1 for r in self.good if r.answered_before is not None)


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _letters(text: str) -> str:
    # "Yes, a lot", "yes a lot" and "YES - A LOT" read alike: case, spaces and punctuation aside.
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def scale_reader(q: Questionnaire) -> Callable[[str], int | None]:
    """Return a function reading a cell as a scale value: a number, or a label in any case."""
    # Labels that differ only in punctuation would collide, so they are matched by case alone.
    key = _letters if len({_letters(o.label) for o in q.scale}) == len(q.scale) else str.casefold
    labels = {key(o.label): o.value for o in q.scale}

    def read(cell: str) -> int | None:
        if NUMBER.match(cell):
            value = int(float(cell))
            return value if value in q.scale_values else None
        return labels.get(key(cell))

    return read


def scale_hint(q: Questionnaire) -> str:
    """Return the allowed values in words, e.g. "1, 2, 3 or 4, or words such as 'Yes, a lot'"."""
    values = [str(v) for v in sorted(q.scale_values)]
    numbers = ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
    return f"{numbers}, or the words, such as '{q.scale[0].label}'"


def _delimiter(text: str) -> str:
    # Spreadsheets set to some European languages save CSV with semicolons.
    first = text.split("\n", 1)[0]
    if "," not in first and first.count(";") > 0:
        return ";"
    return ","


def _read_header(header: list[str], q: Questionnaire) -> tuple[int, dict[int, str], list[str]]:
    """Return (UPN column, {column: statement id}, file-level errors)."""
    errors: list[str] = []
    names = [cell.strip() for cell in header]
    upn_cols = [i for i, name in enumerate(names) if name.casefold() == UPN_HEADER.casefold()]
    if not upn_cols:
        errors.append("The first row must name the columns: 'UPN', then one column per statement "
                      "(s01, s02, …). There is no 'UPN' column.")
    elif len(upn_cols) > 1:
        errors.append("There is more than one 'UPN' column.")
    by_folded = {s.id.casefold(): s.id for s in q.statements}
    columns: dict[int, str] = {}
    unknown, seen, repeated = [], set(), []
    for i, name in enumerate(names):
        if i in upn_cols or not name:
            continue
        item = name if name in q.statement_ids else by_folded.get(name.casefold())
        if item is None:
            unknown.append(name)
        elif item in seen:
            repeated.append(name)
        else:
            seen.add(item)
            columns[i] = item
    if unknown:
        errors.append(f"These column headings are not statements of {q.key}: "
                      + ", ".join(f"'{u}'" for u in unknown)
                      + f". Use the statement ids ({q.statements[0].id} to {q.statements[-1].id}).")
    if repeated:
        errors.append("These columns appear more than once: " + ", ".join(f"'{r}'" for r in repeated) + ".")
    if upn_cols and not columns and not unknown:
        errors.append("There are no statement columns: after 'UPN', add one column per statement.")
    return (upn_cols[0] if upn_cols else -1), columns, errors


def check_answers_csv(
    session: Session, survey_round: SurveyRound, text: str, scope: Scope | None, now: datetime,
    max_rows: int = MAX_ROWS,
) -> AnswersCheck:
    """Check a paper-answers CSV for the round; return the rows to import and those refused.

    Rows are numbered as a spreadsheet shows them (the heading row is 1). `scope` limits
    the pupils a UPN may name (None: every pupil in the round's groups, for the CLI).
    Refuses (ImportFileError) a file that cannot be read as a whole: more than `max_rows`
    rows of answers, no 'UPN' column, column headings that are not statements of the
    questionnaire, a round not open yet.
    """
    q = definition_of(survey_round.questionnaire)
    if survey_round.state(now) == "scheduled":
        raise ImportFileError(["This round has not opened yet, so no answers can be imported for it."])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError(["The file is empty."])
        upn_col, columns, errors = _read_header(header, q)
        if errors:
            raise ImportFileError(errors)
        read_value = scale_reader(q)
        parsed: list[tuple[int, str, dict[str, int], list[str]]] = []
        blank_rows = 0
        headless: set[str] = set()
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                blank_rows += 1
                continue
            if len(parsed) >= max_rows:
                raise ImportFileError([
                    f"The file has more than {max_rows:,} rows of answers; the limit is {max_rows:,} "
                    "in one file. Split it into smaller files (a class or a year group each) and "
                    "import each one."])
            upn = "".join(cells[upn_col].split()).upper() if upn_col < len(cells) else ""
            answers: dict[str, int] = {}
            problems: list[str] = []
            for i, cell in enumerate(cells):
                raw = cell.strip()
                if i == upn_col or not raw:
                    continue
                item = columns.get(i)
                if item is None:
                    headless.add(column_letter(i))
                    continue
                value = read_value(raw)
                if value is None:
                    problems.append(f"{header[i].strip()} (column {column_letter(i)}): '{raw}' is not on "
                                    f"the scale; use {scale_hint(q)}.")
                else:
                    answers[item] = value
            if not upn:
                problems.insert(0, "The UPN is missing.")
            elif not answers and not problems:
                problems.append("There are no answers in this row. Delete the row if this pupil "
                                "did not fill in a paper survey.")
            parsed.append((number, upn, answers, problems))
    except csv.Error as exc:
        raise ImportFileError([
            f"The file could not be read as CSV (line {reader.line_num}): {exc}."]) from None
    if headless:
        raise ImportFileError([
            "These columns have values but no heading: " + ", ".join(sorted(headless, key=len))
            + ". Give each a statement id as its heading, or delete them."])

    rows_of: dict[str, list[int]] = {}
    for number, upn, _answers, _problems in parsed:
        if upn:
            rows_of.setdefault(upn, []).append(number)
    pupils = _round_pupils_by_upn(session, survey_round, scope, list(rows_of))
    started = _responses_of(session, survey_round, [p[0] for found in pupils.values() for p in found])

    result = AnswersCheck(columns=list(columns.values()), blank_rows=blank_rows)
    for number, upn, answers, problems in parsed:
        found = pupils.get(upn, [])
        if upn and len(rows_of[upn]) > 1:
            problems.append(_also_on_rows(rows_of[upn], number))
        if upn and not found:
            problems.append("No pupil with this UPN is in this round's groups"
                            + (" that you can see." if scope is not None else "."))
        elif len(found) > 1:
            problems.append("More than one pupil in this round has this UPN; type their answers "
                            "in on the pupil's own page instead.")
        elif found:
            pupil_id, name = found[0]
            finished_at, how, answered = started.get(pupil_id, (None, None, None))
            if finished_at is not None:
                problems.append(f"This pupil has already finished the survey ({how}), so the "
                                "answers cannot be changed.")
            if not problems:
                result.good.append(CheckedRow(number, upn, pupil_id, name, answers, answered))
                continue
        result.bad.append(RowProblem(number, upn, tuple(problems)))
    return result


def _also_on_rows(rows: list[int], number: int) -> str:
    """Return the problem of a row whose UPN is on other `rows` too, naming a few of them."""
    others = [n for n in rows[:ROWS_NAMED + 1] if n != number][:ROWS_NAMED]
    more = len(rows) - 1 - len(others)
    named = ", ".join(map(str, others)) + (f" and {more:,} more" if more else "")
    return f"This UPN is also on row{'s' if len(rows) > 2 else ''} {named}; keep one row per pupil."


def _round_pupils_by_upn(
    session: Session, survey_round: SurveyRound, scope: Scope | None, upns: list[str],
) -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for start in range(0, len(upns), CHUNK):
        stmt = (
            select(Pupil.id, Pupil.upn, Pupil.first_name, Pupil.surname)
            .join(group_members, group_members.c.pupil_id == Pupil.id)
            .join(round_groups, round_groups.c.group_id == group_members.c.group_id)
            .where(round_groups.c.round_id == survey_round.id, Pupil.archived.is_(False),
                   Pupil.upn.in_(upns[start:start + CHUNK]))
            .distinct()
        )
        if scope is not None:
            stmt = stmt.where(
                group_members.c.group_id.in_(select(Group.id).where(scope.group_condition())),
                scope.pupil_condition(),
            )
        for pid, upn, first, last in session.execute(stmt):
            found.setdefault(upn.upper(), []).append((pid, f"{first} {last}"))
    return found


def _responses_of(
    session: Session, survey_round: SurveyRound, pupil_ids: list[int],
) -> dict[int, tuple[datetime | None, str, int]]:
    """Return {pupil id: (finished_at, how entered, answers stored)} for started responses."""
    out = {}
    for start in range(0, len(pupil_ids), CHUNK):
        counted = (
            select(Response.pupil_id, Response.finished_at, Response.entered_by, func.count(Answer.id))
            .outerjoin(Answer, Answer.response_id == Response.id)
            .where(Response.round_id == survey_round.id,
                   Response.pupil_id.in_(pupil_ids[start:start + CHUNK]))
            .group_by(Response.pupil_id, Response.finished_at, Response.entered_by)
        )
        for pid, finished_at, entered_by, n in session.execute(counted):
            out[pid] = (finished_at, how_entered(entered_by), int(n))
    return out


# ----- importing ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    responses: int
    created: int
    answers: int


def import_answer_rows(
    session: Session, survey_round: SurveyRound, rows: list[CheckedRow], staff: StaffUser | None,
    source: str, now: datetime, progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Write checked rows in the caller's transaction; return how many responses and answers.

    Each pupil's response is created or continued (marked entered_by='import'), the
    answers are upserted (newest wins), and the response is finished and scored like an
    online finish. Refuses (AnswerRefused, 409) when a response finished after the file
    was checked; the caller rolls back, so nothing is written.
    """
    if not rows:
        return ImportResult(0, 0, 0)
    pupil_ids = [r.pupil_id for r in rows]
    responses: dict[int, Response] = {}
    for start in range(0, len(pupil_ids), CHUNK):
        chunk = pupil_ids[start:start + CHUNK]
        responses.update((r.pupil_id, r) for r in session.scalars(select(Response).where(
            Response.round_id == survey_round.id, Response.pupil_id.in_(chunk)).with_for_update()))
    new_ids = [pid for pid in pupil_ids if pid not in responses]
    create_responses(session, survey_round, new_ids, "import", staff, now)
    for start in range(0, len(new_ids), CHUNK):
        chunk = new_ids[start:start + CHUNK]
        responses.update((r.pupil_id, r) for r in session.scalars(select(Response).where(
            Response.round_id == survey_round.id, Response.pupil_id.in_(chunk)).with_for_update()))
    for row in rows:
        if responses[row.pupil_id].finished_at is not None:
            raise AnswerRefused(f"Row {row.row} ({row.upn}): this pupil finished the survey after the "
                                "file was checked. Nothing was imported; check the file again.", 409)
    seq = sequence_now(now)
    upsert_answers(session, [
        {"response_id": responses[row.pupil_id].id, "item": item, "value": value, "seq": seq,
         "answered_at": now}
        for row in rows for item, value in row.answers.items()
    ])
    for done, row in enumerate(rows, start=1):
        response = responses[row.pupil_id]
        mark_entered(response, "import", staff, now)
        response.finished_at = now
        store_scores(session, response, now)
        record_change(session, staff, "response", response.id, "paper answers imported", {
            "pupil_id": row.pupil_id, "round_id": survey_round.id, "file": source, "row": row.row,
            "answers": len(row.answers), "finished": True,
        })
        if progress is not None and (done % 100 == 0 or done == len(rows)):
            progress(done, len(rows))
    session.flush()
    return ImportResult(len(rows), len(new_ids), sum(len(r.answers) for r in rows))


def template_upns(session: Session, scope: Scope | None, survey_round: SurveyRound) -> list[str]:
    """Return the UPNs of the round's pupils (within `scope`) who have not finished, by name."""
    stmt = (
        select(Pupil.upn)
        .join(group_members, group_members.c.pupil_id == Pupil.id)
        .join(round_groups, round_groups.c.group_id == group_members.c.group_id)
        .outerjoin(Response, (Response.pupil_id == Pupil.id) & (Response.round_id == survey_round.id))
        .where(round_groups.c.round_id == survey_round.id, Pupil.archived.is_(False),
               Response.finished_at.is_(None))
        .group_by(Pupil.id, Pupil.upn, Pupil.surname, Pupil.first_name)
        .order_by(Pupil.surname, Pupil.first_name, Pupil.upn)
    )
    if scope is not None:
        stmt = stmt.where(
            group_members.c.group_id.in_(select(Group.id).where(scope.group_condition())),
            scope.pupil_condition(),
        )
    return list(session.scalars(stmt))


def check_digest(check: AnswersCheck) -> str:
    """Return a fingerprint of what a confirmation would write (it must match the preview's).

    Online answers given meanwhile do not count: the import merges with them either way.
    """
    data = [[r.row, r.pupil_id, sorted(r.answers.items())] for r in check.good]
    data.append([[b.row, list(b.problems)] for b in check.bad])
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()
