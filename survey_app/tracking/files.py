"""Attainment and attendance files read and checked, without the database.

`read_attainment` and `read_attendance` take the text of a CSV export and return the
checked rows with spreadsheet row numbers, and every refused row with every reason.
imports.py matches the rows with the school's pupils and writes them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..schools.roster_csv import upn_problem
from . import scales

MAX_BYTES = 3 * 1024 * 1024
MAX_ROWS = 20000
TOO_BIG = (f"This file is larger than {MAX_BYTES // (1024 * 1024)} MB, the largest file accepted. "
           "Split it (for example by year group or by subject) and import each part.")

ATTAINMENT_COLUMNS = {
    "upn": ("UPN", "Unique Pupil Number"),
    "subject": ("Subject",),
    "assessment": ("Assessment", "Assessment Point", "Assessment Name"),
    "date": ("Date", "Assessment Date"),
    "result": ("Result", "Grade", "Mark"),
    "target": ("Target", "Target Grade"),
    "prediction": ("Prediction", "Predicted", "Predicted Grade", "Forecast"),
    "scale": ("Scale", "Grade Scale"),
}
ATTAINMENT_REQUIRED = ("upn", "subject", "assessment", "date", "result")
ATTENDANCE_COLUMNS = {
    "upn": ("UPN", "Unique Pupil Number"),
    "from": ("From", "Start", "Start Date"),
    "to": ("To", "End", "End Date"),
    "percent": ("Attendance %", "Attendance", "Attendance Percentage", "%"),
    "possible": ("Possible", "Possible Sessions", "Sessions Possible"),
    "attended": ("Attended", "Attended Sessions", "Sessions Attended", "Present"),
}
ATTENDANCE_REQUIRED = ("upn", "from", "to")


class TrackingFileError(ValueError):
    """The whole file is refused (not UTF-8 CSV, missing columns, too many rows); safe to show."""


@dataclass
class RowProblem:
    row: int
    upn: str
    reasons: list[str]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class CheckedRow:
    """One good row: its number, UPN, the key that makes it unique for the pupil, its values."""

    row: int
    upn: str
    key: tuple
    values: dict[str, Any]


@dataclass
class CheckedFile:
    rows: list[CheckedRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return len(self.rows) + len(self.problems)


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z%]", "", text.lower())


def decode(data: bytes) -> str:
    """Return the text of an upload; refuses (TrackingFileError) what is not UTF-8 CSV."""
    if len(data) > MAX_BYTES:
        raise TrackingFileError(TOO_BIG)
    if not data.strip():
        raise TrackingFileError("This file is empty.")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise TrackingFileError("This is an Excel workbook, not a CSV file. In Excel choose File, Save As, "
                                "'CSV UTF-8 (Comma delimited)', and upload that file.")
    if b"\x00" in data[:4096]:
        raise TrackingFileError("This is not a CSV file (it is not text).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TrackingFileError("This file is not UTF-8 text: save it as 'CSV UTF-8' and try again "
                                f"(the first character that is not UTF-8 is on line {line}).") from None


def _records(text: str, names: dict[str, tuple[str, ...]], required: tuple[str, ...],
             ) -> tuple[list[list[str]], int, dict[str, int], list[str]]:
    """Return (records, header index, field -> column, ignored headers)."""
    header_of = {_key(n): f for f, options in names.items() for n in options}
    delimiter = max((",", ";", "\t"), key=lambda d: text.split("\n", 1)[0].count(d))
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise TrackingFileError(f"This file could not be read as CSV ({exc}).") from None
    for index, record in enumerate(records[:10]):
        found = {header_of[_key(h)]: i for i, h in reversed(list(enumerate(record))) if _key(h) in header_of}
        if "upn" in found and len(found) >= 2:
            missing = [names[f][0] for f in required if f not in found]
            if missing:
                raise TrackingFileError("This file has no column " + ", ".join(f"'{m}'" for m in missing)
                                        + ". The columns needed are " + ", ".join(names[f][0] for f in required)
                                        + ".")
            ignored = [h.strip() for h in record if h.strip() and _key(h) not in header_of]
            return records, index, found, ignored
    raise TrackingFileError("This file has no header row naming a UPN column and the others ("
                            + ", ".join(names[f][0] for f in required) + ").")


def _date(raw: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"):
        try:
            return datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _rows(text: str, names, required, check, what: str) -> CheckedFile:
    records, header, columns, ignored = _records(text.removeprefix("\ufeff"), names, required)
    body = [(i + 1, r) for i, r in enumerate(records) if i > header and any(c.strip() for c in r)]
    if len(body) > MAX_ROWS:
        raise TrackingFileError(f"This file has {len(body):,} rows; one import takes at most {MAX_ROWS:,}. "
                                "Split it (for example by year group or by subject) and import each part.")
    out = CheckedFile(ignored=ignored)
    seen: dict[tuple, list[int]] = defaultdict(list)
    checked = []
    for number, record in body:
        cell = {f: (record[i].strip() if i < len(record) else "") for f, i in columns.items()}
        upn = cell["upn"].upper()
        reasons = [p] if (p := upn_problem(upn)) else []
        key, values = check(cell, reasons)
        checked.append((number, upn, key, values, reasons))
        if key is not None and upn:
            seen[(upn, *key)].append(number)
    for number, upn, key, values, reasons in checked:
        others = [n for n in seen.get((upn, *key), ()) if n != number] if key is not None else []
        if others:
            reasons.append(f"the same pupil and {what} are also on row " + ", ".join(map(str, others)))
        if reasons:
            out.problems.append(RowProblem(number, upn, reasons))
        else:
            out.rows.append(CheckedRow(number, upn, key, values))
    return out


def _check_attainment(has_scale: bool):
    def check(cell: dict[str, str], reasons: list[str]) -> tuple[tuple | None, dict[str, Any]]:
        values: dict[str, Any] = {}
        for fld, label in (("subject", "subject"), ("assessment", "assessment point")):
            if not cell[fld]:
                reasons.append(f"no {label}")
            elif len(cell[fld]) > 60:
                reasons.append(f"{label} is longer than 60 characters")
            values[fld] = " ".join(cell[fld].split())
        day = _date(cell["date"])
        if day is None:
            reasons.append(f"date '{cell['date']}' is not a date such as 2026-11-20 or 20/11/2026"
                           if cell["date"] else "no date")
        values["assessed_on"] = day
        scale = None
        if has_scale and cell.get("scale"):
            scale = scales.scale_key(cell["scale"])
            if scale is None:
                reasons.append(f"scale '{cell['scale']}' is not one we know ("
                               + ", ".join(scales.SCALE_NAMES.values()) + ")")
        elif cell["result"]:
            scale = scales.guess_scale(cell["result"])
            if scale is None:
                reasons.append(f"result '{cell['result']}' could be on several scales: add a Scale column "
                               "(for example 'Percentage' or 'Standardised')")
        if not cell["result"]:
            reasons.append("no result")
        values["scale"] = scale
        if scale is not None:
            for fld in ("result", "target", "prediction"):
                raw = cell.get(fld, "")
                if not raw:
                    values[fld], values[f"{fld}_value"] = None, None
                    continue
                placed = scales.place(scale, raw)
                if placed is None:
                    reasons.append(f"{fld} '{raw}' is not on the {scales.SCALE_NAMES[scale]} scale "
                                   f"({scales.expected_values(scale)})")
                    continue
                values[fld], values[f"{fld}_value"] = placed.text, placed.value
        key = (values["subject"].lower(), values["assessment"].lower()) if values["subject"] and values[
            "assessment"] else None
        return key, values
    return check


def _sessions(raw: str, label: str, reasons: list[str]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 1000:
        reasons.append(f"{label} sessions '{raw}' is not a whole number from 0 to 1000")
        return None
    return int(raw)


def _check_attendance(cell: dict[str, str], reasons: list[str]) -> tuple[tuple | None, dict[str, Any]]:
    values: dict[str, Any] = {}
    for fld, label in (("from", "From"), ("to", "To")):
        day = _date(cell[fld])
        if day is None:
            reasons.append(f"{label} date '{cell[fld]}' is not a date such as 2026-09-03 or 03/09/2026"
                           if cell[fld] else f"no {label} date")
        values[fld] = day
    if values["from"] and values["to"] and values["to"] < values["from"]:
        reasons.append("the To date is before the From date")
    possible = _sessions(cell.get("possible", ""), "possible", reasons)
    attended = _sessions(cell.get("attended", ""), "attended", reasons)
    raw = cell.get("percent", "").removesuffix("%").strip()
    percent = None
    if raw:
        try:
            percent = float(raw)
        except ValueError:
            percent = -1.0
        if not 0 <= percent <= 100:
            reasons.append(f"attendance '{cell['percent']}' is not a percentage from 0 to 100")
            percent = None
    elif possible is not None and attended is not None:
        if possible == 0:
            reasons.append("possible sessions is 0")
        elif attended > possible:
            reasons.append(f"attended sessions ({attended}) is more than possible sessions ({possible})")
        else:
            percent = round(100.0 * attended / possible, 1)
    elif not any("sessions" in r for r in reasons):
        reasons.append("no attendance: give Attendance %, or both Possible and Attended sessions")
    values.update(starts_on=values.pop("from"), ends_on=values.pop("to"), possible=possible,
                  attended=attended, percent=percent)
    key = (values["starts_on"], values["ends_on"]) if values["starts_on"] and values["ends_on"] else None
    return key, values


def read_attainment(text: str) -> CheckedFile:
    """Return the checked rows of an attainment CSV (UPN, Subject, Assessment, Date, Result,
    optional Target, Prediction, Scale); refuses the file (TrackingFileError) without those
    columns or with more than MAX_ROWS rows."""
    records = _records(text.removeprefix("\ufeff"), ATTAINMENT_COLUMNS, ATTAINMENT_REQUIRED)
    return _rows(text, ATTAINMENT_COLUMNS, ATTAINMENT_REQUIRED, _check_attainment("scale" in records[2]),
                 "subject and assessment point")


def read_attendance(text: str) -> CheckedFile:
    """Return the checked rows of an attendance CSV (UPN, From, To, and Attendance % or
    Possible and Attended); refuses the file as read_attainment does."""
    return _rows(text, ATTENDANCE_COLUMNS, ATTENDANCE_REQUIRED, _check_attendance, "period")
