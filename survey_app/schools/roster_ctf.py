"""A DfE Common Transfer File (CTF XML) read as roster rows.

The file is read as a stream with a hardened parser (defusedxml: no document type, so no
entities of any kind and nothing fetched from outside), one <Pupil> at a time, each
cleared once read, so memory follows the number of pupils and not the size of the file
(a CTF also carries attendance and assessment history the import does not need). Its
structure is checked as it goes: a <CTfile> root with a <Header> naming a Common Transfer
File and a <CTFpupilData> of <Pupil> records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .roster_csv import RosterFileError

MAX_XML_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 12
# The pupil fields the import takes, and where a CTF keeps them (inside <Pupil>).
HEADER = ["UPN", "Preferred Surname", "Surname", "Preferred Forename", "Forename", "Year", "Gender",
          "Date of Birth", "SEN", "FSM", "First Language"]
# The children of <Pupil> the import reads; the rest are dropped as soon as they are read.
KEPT = {"UPN", "Surname", "Forename", "DOB", "Sex", "Gender", "NCyearActual", "SENprovision", "BasicDetails",
        "FSMhistory"}
NOT_A_CTF = ("This XML file is not a Common Transfer File: its root should be <CTfile> with a "
             "<Header> and <CTFpupilData>. Export a CTF from your MIS (for example SIMS: Routines, "
             "Data Out, CTF, Export CTF).")
HOSTILE = ("This XML file declares a document type or entities, which a Common Transfer File never "
           "needs, so it was refused unread (entities can make a file expand without limit or read "
           "other files).")


def _text(element: Element | None, *path: str) -> str:
    for name in path:
        if element is None:
            return ""
        element = element.find(name)
    return (element.text or "").strip() if element is not None else ""


def _fsm(pupil: Element, today: date) -> str:
    """Return "Yes" when an FSM period of the pupil's history is open on `today`."""
    history = pupil.find("FSMhistory")
    if history is None:
        return "No"
    for instance in history.iter("FSMinstance"):
        start, end = _text(instance, "FSMstartDate"), _text(instance, "FSMendDate")
        try:
            if start and date.fromisoformat(start[:10]) <= today and (not end or date.fromisoformat(end[:10]) >= today):
                return "Yes"
        except ValueError:
            continue
    return "No"


def _first_language(pupil: Element) -> str:
    for kind in pupil.iter("Type"):
        if _text(kind, "LanguageType").upper() == "FLAN":
            return _text(kind, "Language")
    return ""


def pupil_record(pupil: Element, today: date) -> list[str]:
    """Return a <Pupil>'s values in HEADER order (as the CSV import reads them)."""
    basic = pupil.find("BasicDetails")
    return [
        _text(pupil, "UPN"),
        _text(basic, "PreferredSurname"), _text(pupil, "Surname"),
        _text(basic, "PreferredForename"), _text(pupil, "Forename"),
        _text(basic, "NCyearActual") or _text(pupil, "NCyearActual"),
        _text(pupil, "Sex") or _text(pupil, "Gender"),
        _text(pupil, "DOB"),
        _text(basic, "SENprovision") or _text(pupil, "SENprovision") or "N",
        _fsm(pupil, today),
        _first_language(pupil),
    ]


def read_ctf(stream: IO[bytes], today: date, max_rows: int) -> tuple[Iterator[list[str]], dict]:
    """Return (the rows of a CTF in HEADER order, facts from its header: source school URN).

    Refuses (RosterFileError) a file with a document type or entities, one that is not
    well-formed XML, one whose structure is not a CTF, one nested deeper than a CTF is,
    and one with more than `max_rows` pupils. The rows are produced as the file is read.
    """
    events = iterparse(stream, events=("start", "end"), forbid_dtd=True, forbid_entities=True,
                       forbid_external=True)
    facts: dict = {}

    def rows() -> Iterator[list[str]]:
        depth, seen_header, in_data, count = 0, False, False, 0
        data: Element | None = None
        try:
            for event, element in events:
                if event == "start":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise RosterFileError("This XML file is nested deeper than a Common Transfer File is.")
                    if depth == 1 and element.tag != "CTfile":
                        raise RosterFileError(NOT_A_CTF)
                    if depth == 2 and element.tag == "CTFpupilData":
                        if not seen_header:
                            raise RosterFileError(NOT_A_CTF)
                        in_data, data = True, element
                    continue
                depth -= 1
                if depth == 1 and element.tag == "Header":
                    if "common transfer" not in _text(element, "DocumentName").lower():
                        raise RosterFileError(NOT_A_CTF)
                    seen_header = True
                    facts["urn"] = _text(element, "SourceSchool", "URN")
                    element.clear()
                elif depth == 2 and in_data and element.tag == "Pupil":
                    count += 1
                    if count > max_rows:
                        raise RosterFileError(f"This file has more than {max_rows:,} pupils; one import takes "
                                              f"at most {max_rows:,}.")
                    yield pupil_record(element, today)
                    data.clear()  # the pupils read so far: memory stays flat in the file size
                elif depth == 3 and in_data and element.tag not in KEPT:
                    element.clear()  # a pupil's history (attendance, assessments) is not kept
                elif depth == 1 and element.tag == "CTFpupilData":
                    in_data = False
                    element.clear()
                elif depth == 0 and not seen_header:
                    raise RosterFileError(NOT_A_CTF)
        except DefusedXmlException:
            raise RosterFileError(HOSTILE) from None
        except ParseError as exc:
            raise RosterFileError(f"This XML file is not well formed ({exc}), so it cannot be read. "
                                  "Export the CTF again.") from None

    return rows(), facts
