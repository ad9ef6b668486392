"""A OneRoster 1.1 CSV bundle (the ZIP an MIS or its roster service exports) read as
roster rows.

`manifest.csv` says which files are there; `orgs.csv` gives the school (the org whose
`identifier` is the school's URN, or the bundle's only school org); `users.csv` gives the
students of that org, with the UPN from the field the administrator chooses (by default
a `userIds` entry typed UPN, else `identifier`); `demographics.csv` fills sex and date of
birth; `classes.csv` and `enrollments.csv` give each student's classes, which the import
can turn into groups. Each file is read as a stream from the ZIP, and the sizes the ZIP
declares are checked before anything is unpacked (a small ZIP can unpack to gigabytes).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from typing import IO

from .roster_csv import RosterFileError

MAX_MEMBER_BYTES = 128 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # unpacked size over packed size, past which a member is a ZIP bomb
REQUIRED_FILES = ("manifest.csv", "orgs.csv", "users.csv")
HEADER = ["UPN", "Surname", "Forename", "Year", "Gender", "Date of Birth"]
CLASSES = "Class Groups"
NOT_ONEROSTER = ("This ZIP file is not a OneRoster bundle (it has no {missing}) and not a CSV file. Export "
                 "a OneRoster 1.1 CSV bundle from your MIS, or a CSV file.")
_USER_ID = re.compile(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}")
_SEX = {"male": "Male", "female": "Female", "m": "Male", "f": "Female", "other": "Other"}
_GRADES = {"kg": "R", "rec": "R", "r": "R"}


def is_oneroster(names: list[str]) -> bool:
    return "manifest.csv" in {n.rsplit("/", 1)[-1].lower() for n in names}


def _members(bundle: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in bundle.infolist():
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES or info.file_size > max(info.compress_size, 1) * MAX_RATIO:
            raise RosterFileError(f"{info.filename[:80]} in this ZIP unpacks to more than a roster can be, "
                                  "so the file was refused unread.")
        total += info.file_size
        members[info.filename.rsplit("/", 1)[-1].lower()] = info
    if total > MAX_TOTAL_BYTES:
        raise RosterFileError("This ZIP unpacks to more than a roster bundle can be, so it was refused unread.")
    return members


def _rows(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) of one CSV member, read as a stream; refuses one that is
    not UTF-8 or whose header lacks `sourcedId`."""
    with bundle.open(info) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            reader = csv.DictReader(text)
            if reader.fieldnames is None:
                return
            for row in reader:
                yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}
        except UnicodeDecodeError:
            raise RosterFileError(f"{info.filename} in this bundle is not UTF-8 text.") from None
        except csv.Error as exc:
            raise RosterFileError(f"{info.filename} in this bundle could not be read as CSV ({exc}).") from None


def _manifest(bundle, members) -> dict[str, str]:
    manifest = {row.get("propertyName", ""): row.get("value", "") for _, row in _rows(bundle, members["manifest.csv"])}
    version = manifest.get("oneroster.version", "")
    if not version.startswith("1.1"):
        raise RosterFileError(f"This bundle is OneRoster version '{version[:20] or 'not given'}'; the import "
                              "reads OneRoster 1.1 CSV bundles.")
    return manifest


def _choose_org(bundle, members, urn: str | None) -> tuple[str, str]:
    """Return (sourcedId, name) of the school org: its identifier is the URN, else the only one."""
    schools = [row for _, row in _rows(bundle, members["orgs.csv"])
               if row.get("type", "").lower() == "school" and row.get("status", "active").lower() != "tobedeleted"]
    if urn:
        chosen = [row for row in schools if row.get("identifier", "").strip() == urn.strip()]
        if chosen:
            return chosen[0]["sourcedId"], chosen[0].get("name", "")
    if len(schools) == 1:
        return schools[0]["sourcedId"], schools[0].get("name", "")
    listed = "; ".join(f"{r.get('name', '?')} (identifier {r.get('identifier') or 'none'})" for r in schools[:10])
    raise RosterFileError(
        f"This bundle has {len(schools)} school orgs and none has the identifier {urn or '(no URN given)'}: "
        f"{listed or 'none'}. Import it for the school whose URN is one of these identifiers.")


def _upn(row: dict[str, str], upn_field: str | None) -> str:
    ids = {kind.strip().upper(): value for kind, value in _USER_ID.findall(row.get("userIds", ""))}
    if upn_field:
        if upn_field.lower().startswith("userids:"):
            return ids.get(upn_field.split(":", 1)[1].strip().upper(), "")
        return row.get(upn_field, "")
    return ids.get("UPN") or row.get("identifier", "")


def _year(grades: str) -> str:
    first = grades.split(",")[0].strip()
    return _GRADES.get(first.lower(), first)


def read_oneroster(stream: IO[bytes], urn: str | None, upn_field: str | None, max_rows: int,
                   classes_as_groups: bool = False) -> tuple[Iterator[list[str]], dict]:
    """Return (the students of the chosen school org in HEADER order, then with
    `classes_as_groups` their class titles; facts: the org's name and the class titles),
    with the UPN from `upn_field` (None: a `userIds` entry typed UPN, else `identifier`;
    "userIds:TYPE" for another typed entry).

    Refuses (RosterFileError) a ZIP that is not a OneRoster 1.1 bundle, lacks a required
    file or column, unpacks too large, names no school org that fits, or has more than
    `max_rows` students at that school. Rows are in users.csv order; a line that is not
    one of the school's students comes back empty, so row numbers are users.csv lines.
    """
    try:
        bundle = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise RosterFileError("This ZIP file is damaged, so it cannot be read.") from None
    members = _members(bundle)
    missing = [name for name in REQUIRED_FILES if name not in members]
    if missing:
        raise RosterFileError(NOT_ONEROSTER.format(missing=" or ".join(missing)))
    _manifest(bundle, members)
    org_id, org_name = _choose_org(bundle, members, urn)
    demographics: dict[str, tuple[str, str]] = {}
    if "demographics.csv" in members:
        for _, row in _rows(bundle, members["demographics.csv"]):
            demographics[row.get("sourcedId", "")] = (row.get("sex", ""), row.get("birthDate", ""))
    classes: dict[str, str] = {}
    student_classes: dict[str, list[str]] = defaultdict(list)
    if "classes.csv" in members and "enrollments.csv" in members:
        for _, row in _rows(bundle, members["classes.csv"]):
            if row.get("schoolSourcedId") == org_id and row.get("status", "").lower() != "tobedeleted":
                classes[row["sourcedId"]] = row.get("title") or row.get("classCode") or row["sourcedId"]
        for _, row in _rows(bundle, members["enrollments.csv"]):
            if row.get("role", "").lower() == "student" and row.get("classSourcedId") in classes \
                    and row.get("status", "").lower() != "tobedeleted":
                student_classes[row.get("userSourcedId", "")].append(classes[row["classSourcedId"]])
    facts = {"org": org_name, "classes": sorted(set(classes.values()))}

    def rows() -> Iterator[list[str]]:
        line, count = 1, 0
        for number, row in _rows(bundle, members["users.csv"]):
            while line < number - 1:  # keep users.csv line numbers: one empty row per other line
                line += 1
                yield []
            line = number
            orgs = {o.strip() for o in row.get("orgSourcedIds", "").split(",")}
            if row.get("role", "").lower() != "student" or org_id not in orgs \
                    or row.get("status", "").lower() == "tobedeleted":
                yield []
                continue
            count += 1
            if count > max_rows:
                raise RosterFileError(f"This bundle has more than {max_rows:,} students at {org_name}; one "
                                      f"import takes at most {max_rows:,}.")
            sex, born = demographics.get(row.get("sourcedId", ""), ("", ""))
            record = [_upn(row, upn_field), row.get("familyName", ""), row.get("givenName", ""),
                      _year(row.get("grades", "")), _SEX.get(sex.lower(), sex), born]
            if classes_as_groups:
                record.append("; ".join(sorted(set(student_classes.get(row.get("sourcedId", ""), [])))))
            yield record

    return rows(), facts
