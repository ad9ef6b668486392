"""Which kind of roster a file is, told by its content (never its name), and the file
turned into the roster text the import checks.

A CSV is decoded as before. A OneRoster bundle (a ZIP with manifest.csv) and a Common
Transfer File (XML) are read as streams and written out as the same roster text, with the
school information system's names kept as they are, so one preview, one set of row
checks, one dry run and one idempotent write by UPN serve all three.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO
from zoneinfo import ZoneInfo

from ..models.base import utcnow
from . import roster_ctf, roster_oneroster
from .roster_csv import MAX_BYTES, MAX_ROWS, TOO_BIG, RosterFileError, decode_upload

SAVE_AS_CSV = "In Excel choose File, Save As, 'CSV UTF-8 (Comma delimited)', and upload that file."
KIND_LABELS = {"csv": "CSV file", "oneroster": "OneRoster 1.1 bundle", "ctf": "Common Transfer File"}


@dataclass
class RosterText:
    """A roster file as the CSV import reads it: `kind` is csv, oneroster or ctf."""

    kind: str
    text: str
    facts: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def sniff(stream: IO[bytes]) -> str:
    """Return "zip", "xml" or "text" from the first bytes of `stream` (left at the start)."""
    head = stream.read(512)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"<"):
        return "xml"
    return "text"


def _write(header: list[str], rows: Iterator[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def read_roster_file(stream: IO[bytes], *, urn: str | None = None, upn_field: str | None = None,
                     classes_as_groups: bool = False, max_bytes: int | None = None,
                     today: date | None = None) -> RosterText:
    """Return the roster text of an uploaded or named file (a seekable binary stream).

    Refuses (RosterFileError), in words the person can act on: a CSV that is too big or
    not UTF-8 text, an Excel workbook, a ZIP that is not a OneRoster 1.1 bundle, an XML
    file that is not a CTF or declares entities, and more than MAX_ROWS pupils.
    """
    if today is None:
        today = utcnow().astimezone(ZoneInfo("Europe/London")).date()
    kind = sniff(stream)
    if kind == "zip":
        try:
            names = zipfile.ZipFile(stream).namelist()
        except zipfile.BadZipFile:
            raise RosterFileError("This is a damaged ZIP file or an Excel workbook, not a OneRoster bundle or "
                                  "a CSV file. " + SAVE_AS_CSV) from None
        stream.seek(0)
        if not roster_oneroster.is_oneroster(names):
            if any(n.startswith(("xl/", "[Content_Types]")) for n in names):
                raise RosterFileError("This is an Excel workbook, not a CSV file. " + SAVE_AS_CSV)
            raise RosterFileError(roster_oneroster.NOT_ONEROSTER.format(missing="manifest.csv"))
        rows, facts = roster_oneroster.read_oneroster(stream, urn, upn_field, MAX_ROWS, classes_as_groups)
        header = roster_oneroster.HEADER + ([roster_oneroster.CLASSES] if classes_as_groups else [])
        return RosterText("oneroster", _write(header, rows), facts)
    if kind == "xml":
        size = stream.seek(0, 2)
        stream.seek(0)
        if size > roster_ctf.MAX_XML_BYTES:
            raise RosterFileError(f"This XML file is larger than {roster_ctf.MAX_XML_BYTES // 2**20} MB, more than "
                                  "a Common Transfer File of 15,000 pupils needs.")
        rows, facts = roster_ctf.read_ctf(stream, today, MAX_ROWS)
        return RosterText("ctf", _write(roster_ctf.HEADER, rows), facts)
    data = stream.read((max_bytes or MAX_BYTES) + 1)
    if len(data) > (max_bytes or MAX_BYTES):
        raise RosterFileError(TOO_BIG)
    return RosterText("csv", decode_upload(data))
