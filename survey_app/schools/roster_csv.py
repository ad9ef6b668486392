"""A roster file read and checked: a school's CSV export → columns → checked rows.

`decode_upload` turns the uploaded bytes into text (UTF-8 only) and `parse_roster` reads
the columns and checks every row, without the database; roster.py compares the rows with
the school's pupils and writes them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from ..flags.operations import SEPARATOR
from ..models.base import utcnow
from ..models.upn import UPN_PATTERN, is_valid_upn

# The largest school: an FE college of 15,000 learners.
MAX_ROWS = 15000
MAX_BYTES = 3 * 1024 * 1024
TOO_BIG = ("This file is larger than 3 MB, the largest roster CSV accepted. Remove the columns "
           "the import does not need, or split the file by year group.")
NOT_UTF8 = "This file is not UTF-8 text: save it as 'CSV UTF-8' and try again"
HEADER_SEARCH_ROWS = 10

# Each field's header names, in order of preference: when a file has several (legal and
# preferred forename), a row takes the first that is not blank. Pupils confirm who they
# are by name, so the name they go by comes first.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "upn": ("UPN", "Unique Pupil Number"),
    "surname": ("Preferred Surname", "Surname", "Legal Surname", "Last Name", "Family Name"),
    "first_name": ("Preferred Forename", "Forename", "First Name", "Legal Forename", "Given Name"),
    "year_group": ("Year", "NC Year", "Year Group", "National Curriculum Year", "NC Year Actual"),
    "reg_group": ("Reg Group", "Registration Group", "Reg", "Form", "Form Group", "Tutor Group"),
    "gender": ("Gender", "Sex"),
    "date_of_birth": ("Date of Birth", "DOB", "Birth Date"),
    "sen": ("SEN", "SEN Status", "SEN Provision"),
    "fsm": ("FSM", "FSM Eligible", "Pupil Premium", "Disadvantaged"),
    "eal": ("EAL",),
    "first_language": ("First Language", "Language"),
    "left_on": ("Left On", "Leaving Date", "Date Left"),
    # Custom pupil flags by name, separated by semicolons ("Mentored; Young carer").
    "flags": ("Flags", "Pupil Flags"),
    # Classes the pupil joins as groups, separated by semicolons (roster_groups.py).
    "groups": ("Class Groups",),
}
REQUIRED = ("upn", "surname", "first_name", "year_group")
COLUMN_LABELS = {"upn": "UPN", "surname": "surname (e.g. 'Legal Surname')",
                 "first_name": "forename (e.g. 'Forename')", "year_group": "year group (e.g. 'Year')"}
# Pupil columns an import writes, in the order pages show them.
PUPIL_FIELDS = ("first_name", "surname", "year_group", "reg_group", "gender", "date_of_birth", "sen", "fsm",
                "eal", "left_on")
DEFAULTS: dict[str, Any] = {"reg_group": None, "gender": None, "date_of_birth": None, "sen": "N", "fsm": False,
                            "eal": False}


def _key(text: str) -> str:
    """Return a header or value folded for matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


_HEADER_FIELD = {_key(name): fld for fld, names in COLUMN_NAMES.items() for name in names}
_SEN = {"": "N", "n": "N", "none": "N", "no": "N", "nosen": "N", "k": "K", "sensupport": "K",
        "support": "K", "a": "K", "p": "K", "e": "E",
        "ehcplan": "E", "ehcp": "E", "ehc": "E", "s": "E", "statement": "E"}
_TRUE = {"y", "yes", "true", "t", "1"}
_FALSE = {"", "n", "no", "false", "f", "0"}
# First-language entries that do not make a pupil EAL: English, or no language recorded.
_NOT_EAL_LANGUAGES = {"", "english", "eng", "enb", "believedtobeenglish", "notknown", "not",
                      "unknown", "ref", "refused", "informationnotobtained", "notobtained"}
# Stored as words, as the demo data and the edit form have them; other entries are kept as typed.
_GENDER = {"m": "Male", "male": "Male", "boy": "Male", "f": "Female", "female": "Female", "girl": "Female"}
_YEAR = re.compile(r"^(?:nc)?(?:year|yr|y)?(\d{1,2})$")
_RECEPTION = {"r", "yr", "rec", "reception", "yearr", "ncyearr"}


class RosterFileError(ValueError):
    """The whole file is refused (encoding, not a CSV, missing columns, too big); safe to show."""


@dataclass
class RosterRow:
    """One good row: its spreadsheet row number, UPN and the pupil values the file gives."""

    row: int
    upn: str
    values: dict[str, Any]
    # Flag names as the file gives them (None: the file has no flags column); once checked
    # against the school's flags, their names as defined and their ids.
    flags: list[str] | None = None
    flag_ids: list[int] | None = None
    # Class names the pupil joins as groups (None: the file has no such column).
    groups: list[str] | None = None

    @property
    def name(self) -> str:
        return f"{self.values['first_name']} {self.values['surname']}"


@dataclass
class RowProblem:
    """One refused row: its number, what it said (as typed), and every reason."""

    row: int
    upn: str
    name: str
    reasons: list[str]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class ParsedRoster:
    """The rows of a file, checked; `fields` are the pupil columns the file gives."""

    header_row: int
    columns: dict[str, list[str]]  # field -> the headers it is read from, first choice first
    ignored: list[str]  # headers this import does not use
    fields: tuple[str, ...]
    rows: list[RosterRow]
    problems: list[RowProblem]

    @property
    def total_rows(self) -> int:
        return len(self.rows) + len(self.problems)


def decode_upload(data: bytes) -> str:
    """Return the text of an uploaded roster; refuses (RosterFileError) anything not UTF-8 CSV."""
    if len(data) > MAX_BYTES:
        raise RosterFileError(TOO_BIG)
    if not data.strip():
        raise RosterFileError("This file is empty.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(
            "This is an Excel workbook, not a CSV file. In Excel choose File, Save As, "
            "'CSV UTF-8 (Comma delimited)', and upload that file.")
    if data.startswith(b"%PDF"):
        raise RosterFileError("This is a PDF, not a CSV file. Export the roster from your "
                              "school information system as CSV.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterFileError(NOT_UTF8 + " (it is UTF-16 text).")
    if b"\x00" in data[:4096]:
        raise RosterFileError("This is not a CSV file (it is not text). Export the roster "
                              "from your school information system as CSV.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"{NOT_UTF8} (the first character that is not UTF-8 is on line {line})."
        raise RosterFileError(message) from None


def _read_records(text: str) -> tuple[list[list[str]], int, dict[str, list[int]], list[str]]:
    """Return (records, header index, field -> column indexes, unused headers)."""
    best: tuple[int, str, int] | None = None  # (recognised columns, delimiter, header index)
    for delimiter in (",", ";", "\t"):
        try:
            head = list(islice(csv.reader(io.StringIO(text), delimiter=delimiter), HEADER_SEARCH_ROWS))
        except csv.Error:
            continue
        for index, record in enumerate(head):
            known = {_HEADER_FIELD[k] for k in map(_key, record) if k in _HEADER_FIELD}
            if len(known) >= 2:
                if best is None or len(known) > best[0]:
                    best = (len(known), delimiter, index)
                break
    if best is None:
        raise RosterFileError(
            "This file has no header row that the import recognises, so it does not look like a "
            "roster CSV. The first row should name the columns, for example: UPN, Legal Surname, "
            "Forename, Year.")
    _, delimiter, header_index = best
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise RosterFileError(f"This file could not be read as CSV ({exc}).") from None
    columns: dict[str, list[int]] = defaultdict(list)
    ignored = []
    for index, header in enumerate(records[header_index]):
        fld = _HEADER_FIELD.get(_key(header))
        if fld is None:
            if header.strip():
                ignored.append(header.strip())
            continue
        columns[fld].append(index)
    for fld, indexes in columns.items():  # order of preference, not of the file
        rank = {_key(name): n for n, name in enumerate(COLUMN_NAMES[fld])}
        indexes.sort(key=lambda i: (rank[_key(records[header_index][i])], i))
    missing = [COLUMN_LABELS[f] for f in REQUIRED if f not in columns]
    if missing:
        raise RosterFileError(
            f"This file has no column for {_and(missing)}. The import needs columns for UPN, "
            "surname, forename and year group; check the header row names them.")
    return records, header_index, columns, ignored


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cell(record: list[str], indexes: list[int]) -> str:
    """Return the first non-blank cell among the columns (stripped), else ''."""
    for index in indexes:
        if index < len(record) and record[index].strip():
            return record[index].strip()
    return ""


def _year(raw: str) -> int | None:
    key = re.sub(r"\s+", "", raw.lower())
    if key in _RECEPTION:
        return 0
    match = _YEAR.match(key)
    if match and 0 <= int(match.group(1)) <= 14:
        return int(match.group(1))
    return None


def _date(raw: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _flag_names(raw: str) -> list[str]:
    """Return the names in a flags cell, blanks dropped, each once (ignoring case)."""
    names: dict[str, str] = {}
    for part in raw.split(SEPARATOR):
        name = " ".join(part.split())
        if name:
            names.setdefault(name.lower(), name)
    return list(names.values())


def _flag(raw: str) -> bool | None:
    key = raw.strip().lower()
    return True if key in _TRUE else False if key in _FALSE else None


def upn_problem(upn: str) -> str | None:
    """Return why `upn` is not a usable UPN (None when it is)."""
    if not upn:
        return "no UPN"
    if len(upn) != 13:
        return f"UPN '{upn}' is not 13 characters (it has {len(upn)})"
    if not UPN_PATTERN.match(upn):
        return f"UPN '{upn}' is not a letter, 11 digits and a final digit or letter"
    if not is_valid_upn(upn):
        return f"UPN '{upn}': the check letter does not match (is a character mistyped?)"
    return None


def _text(values: dict, reasons: list, fld: str, raw: str, label: str, limit: int, required: bool) -> None:
    if not raw:
        if required:
            reasons.append(f"no {label}")
        else:
            values[fld] = None
    elif len(raw) > limit:
        reasons.append(f"{label} is longer than {limit} characters")
    else:
        values[fld] = raw


def _check_row(record: list[str], columns: dict[str, list[int]],
               today: date) -> tuple[str, dict, list[str], list[str] | None]:
    """Return (UPN as typed, pupil values, reasons the row is refused, flag names or None)."""
    cell = {fld: _cell(record, indexes) for fld, indexes in columns.items()}
    upn = cell["upn"].upper()
    reasons: list[str] = []
    values: dict[str, Any] = {}
    if problem := upn_problem(upn):
        reasons.append(problem)
    _text(values, reasons, "first_name", cell["first_name"], "forename", 100, True)
    _text(values, reasons, "surname", cell["surname"], "surname", 100, True)
    year = _year(cell["year_group"])
    if not cell["year_group"]:
        reasons.append("no year group")
    elif year is None:
        reasons.append(f"year group '{cell['year_group']}' is not R (Reception) or 1 to 14")
    values["year_group"] = year
    if "reg_group" in cell:
        _text(values, reasons, "reg_group", cell["reg_group"], "reg group", 20, False)
    if "gender" in cell:
        _text(values, reasons, "gender", _GENDER.get(_key(cell["gender"]), cell["gender"]), "gender", 20,
              False)
    if "date_of_birth" in cell:
        born = _date(cell["date_of_birth"]) if cell["date_of_birth"] else None
        if cell["date_of_birth"] and (born is None or born > today or born.year < 1950):
            reasons.append(f"date of birth '{cell['date_of_birth']}' is not a date such as 2014-09-01 "
                           "or 01/09/2014, after 1950 and not in the future")
        values["date_of_birth"] = born
    if "sen" in cell:
        sen = _SEN.get(_key(cell["sen"]))
        if sen is None:
            reasons.append(f"SEN '{cell['sen']}' is not N, K or E (or None, SEN Support, EHC Plan)")
        values["sen"] = sen
    if "fsm" in cell:
        fsm = _flag(cell["fsm"])
        if fsm is None:
            reasons.append(f"FSM '{cell['fsm']}' is not Yes or No")
        values["fsm"] = fsm
    if "eal" in cell:
        eal = _flag(cell["eal"])
        if eal is None:
            reasons.append(f"EAL '{cell['eal']}' is not Yes or No")
        values["eal"] = eal
    elif "first_language" in cell:
        values["eal"] = _key(cell["first_language"]) not in _NOT_EAL_LANGUAGES
    if "left_on" in cell:
        day = _date(cell["left_on"]) if cell["left_on"] else None
        if cell["left_on"] and day is None:
            reasons.append(f"leaving date '{cell['left_on']}' is not a date such as 2026-07-22 or 22/07/2026")
        elif day is not None and day > today:
            reasons.append(f"leaving date '{cell['left_on']}' is in the future")
        values["left_on"] = day
    flags = _flag_names(cell["flags"]) if "flags" in cell else None
    if "groups" in cell:
        values["groups"] = _flag_names(cell["groups"])
        if any(len(name) > 200 for name in values["groups"]):
            reasons.append("a class name is longer than 200 characters")
    return upn, values, reasons, flags


def parse_roster(text: str, today: date | None = None) -> ParsedRoster:
    """Return the checked rows of a roster CSV (row numbers as a spreadsheet shows them).

    Refuses the whole file (RosterFileError) when it has no recognisable header row, lacks
    a UPN, surname, forename or year column, or has more than MAX_ROWS pupil rows. Bad
    rows do not refuse the file: they come back in `problems` with every reason. A leaving
    date after `today` (default: today in England) is a bad row. Flag names are checked
    later, against the school's flags, by `preview_import`.
    """
    if today is None:
        today = utcnow().astimezone(ZoneInfo("Europe/London")).date()
    if "\x00" in text:
        raise RosterFileError("This is not a CSV file (it is not text).")
    records, header_index, columns, ignored = _read_records(text.removeprefix("\ufeff"))
    checked = []
    for index in range(header_index + 1, len(records)):
        record = records[index]
        if not any(c.strip() for c in record):
            continue
        checked.append((index + 1, record, *_check_row(record, columns, today)))
    if len(checked) > MAX_ROWS:
        raise RosterFileError(
            f"This file has {len(checked):,} pupil rows; one import takes at most {MAX_ROWS:,}. "
            "Split it (for example by year group) and import each part.")
    rows_of_upn: dict[str, list[int]] = defaultdict(list)
    for number, _, upn, _, _, _ in checked:
        if upn:
            rows_of_upn[upn].append(number)
    rows, problems = [], []
    for number, record, upn, values, reasons, flags in checked:
        others = [n for n in rows_of_upn.get(upn, ()) if n != number]
        if others:
            reasons.append(f"the same UPN is also on row {_and([str(n) for n in others])}")
        if reasons:
            name = " ".join(_cell(record, columns[f]) for f in ("first_name", "surname")).strip()
            problems.append(RowProblem(number, upn, name, reasons))
        else:
            groups = values.pop("groups", None)
            rows.append(RosterRow(number, upn, values, flags, groups=groups))
    fields = ("upn",) + tuple(
        f for f in PUPIL_FIELDS
        if f in columns or (f == "eal" and "first_language" in columns))
    return ParsedRoster(
        header_row=header_index + 1,
        columns={f: [records[header_index][i].strip() for i in ix] for f, ix in columns.items()},
        ignored=ignored, fields=fields, rows=rows, problems=problems,
    )
