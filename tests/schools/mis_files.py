"""Roster files as an MIS exports them, made up here: Common Transfer Files (CTF XML) and
OneRoster 1.1 CSV bundles (ZIP), for the tests, the benchmark and docs/examples/."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from survey_app.models.upn import make_upn

LANGUAGES = ["ENG", "ENG", "ENG", "POL", "URD", "ENG", "RUM"]
SEN = ["N", "N", "N", "N", "K", "N", "E"]


@dataclass
class MisPupil:
    upn: str
    surname: str
    forename: str
    year: int
    gender: str  # M or F
    born: date
    sen: str = "N"
    fsm: bool = False
    language: str = "ENG"
    preferred: str = ""
    classes: tuple[str, ...] = ()


def made_up_pupils(n: int, serial_base: int = 3000, year_shift: int = 0) -> list[MisPupil]:
    """Return `n` pupils with valid, distinct UPNs and every field the imports read."""
    pupils = []
    for i in range(n):
        year = 7 + (i + year_shift) % 7
        pupils.append(MisPupil(
            upn=make_upn(802, serial_base + i // 1000, 25, i % 1000), surname=f"Surname{i:05d}",
            forename=f"Forename{i:05d}", year=year, gender="MF"[i % 2],
            born=date(2026 - year - 5, 1 + i % 12, 1 + i % 28), sen=SEN[i % 7], fsm=i % 4 == 0,
            language=LANGUAGES[i % 7], preferred="" if i % 5 else f"Pref{i:05d}",
            classes=(f"{year}{'ABCD'[i % 4]}", f"Maths {year}{'XY'[i % 2]}")))
    return pupils


def ctf_xml(pupils: list[MisPupil], urn: str = "100001", today: date = date(2026, 12, 1)) -> bytes:
    """Return a CTF (version 24 layout, the parts the import reads and some it skips)."""
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n<Header>'
              "<DocumentName>Common Transfer File</DocumentName><CTFversion>24.0</CTFversion>"
              f"<DateTime>{today.isoformat()}T09:00:00</DateTime><DocumentQualifier>full</DocumentQualifier>"
              "<SupplierID>Made up for the tests</SupplierID><SourceSchool><LEA>802</LEA><Estab>4000</Estab>"
              f"<URN>{urn}</URN><SchoolName>Made Up School</SchoolName><AcademicYear>2026</AcademicYear>"
              "</SourceSchool><DestSchool><LEA>802</LEA><Estab>4001</Estab></DestSchool></Header>\n"
              "<CTFpupilData>\n")
    for p in pupils:
        fsm = ("<FSMhistory><FSMreviewDate>2026-09-01</FSMreviewDate><FSMinstance>"
               "<FSMstartDate>2025-09-01</FSMstartDate><UKcountry>ENG</UKcountry></FSMinstance></FSMhistory>"
               if p.fsm else
               "<FSMhistory><FSMinstance><FSMstartDate>2020-09-01</FSMstartDate>"
               "<FSMendDate>2021-07-20</FSMendDate></FSMinstance></FSMhistory>")
        out.write(
            f"<Pupil><UPN>{p.upn}</UPN><UniqueLearnerNumber/><Surname>{escape(p.surname)}</Surname>"
            f"<Forename>{escape(p.forename)}</Forename><DOB>{p.born.isoformat()}</DOB><Sex>{p.gender}</Sex>"
            f"<BasicDetails><PreferredSurname>{escape(p.surname)}</PreferredSurname>"
            f"<PreferredForename>{escape(p.preferred)}</PreferredForename><NCyearActual>{p.year}</NCyearActual>"
            f"<Ethnicity>WBRI</Ethnicity><Languages><Type><LanguageType>FLAN</LanguageType>"
            f"<Language>{p.language}</Language></Type></Languages><EnrolStatus>C</EnrolStatus>"
            f"<SENprovision>{p.sen}</SENprovision></BasicDetails>{fsm}"
            "<Attendance><YearData><Year>2025</Year><SessionsPossible>330</SessionsPossible>"
            "<SessionsAuthorised>6</SessionsAuthorised></YearData></Attendance></Pupil>\n")
    out.write("</CTFpupilData>\n</CTfile>\n")
    return out.getvalue().encode("utf-8")


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def oneroster_zip(pupils: list[MisPupil], urn: str = "100001", *, upn_in: str = "identifier",
                  other_school: bool = True, teachers: int = 2, drop: tuple[str, ...] = ()) -> bytes:
    """Return a OneRoster 1.1 CSV bundle: the school (identifier `urn`), optionally a second
    school, a district, teachers, classes and enrollments, and demographics. `upn_in`:
    "identifier" or "userIds" (then identifier holds the MIS id)."""
    files = {"manifest.csv": [["propertyName", "value"], ["manifest.version", "1.0"],
                              ["oneroster.version", "1.1"], ["file.orgs", "bulk"], ["file.users", "bulk"],
                              ["file.classes", "bulk"], ["file.enrollments", "bulk"],
                              ["file.demographics", "bulk"], ["source.systemName", "Made up MIS"]]}
    stamp = "2026-12-01T09:00:00Z"
    orgs = [["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
            ["org-la", "active", stamp, "Made Up Trust", "district", "", ""],
            ["org-1", "active", stamp, "Made Up School", "school", urn, "org-la"]]
    if other_school:
        orgs.append(["org-2", "active", stamp, "Other Made Up School", "school", "999999", "org-la"])
    files["orgs.csv"] = orgs
    users = [["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
              "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
              "agentSourcedIds", "grades", "password"]]
    for t in range(teachers):
        users.append([f"t-{t}", "active", stamp, "true", "org-1", "teacher", f"teacher{t}", "", f"Teacher{t}",
                      "Staff", "", f"T{t}", f"teacher{t}@school.example", "", "", "", "", ""])
    demographics = [["sourcedId", "status", "dateLastModified", "birthDate", "sex"]]
    classes = [["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes",
                "periods"]]
    enrollments = [["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                    "userSourcedId", "role", "primary", "beginDate", "endDate"]]
    class_ids: dict[str, str] = {}
    for i, p in enumerate(pupils):
        sid = f"s-{i}"
        ids = f"{{UPN:{p.upn}}},{{MIS:{100000 + i}}}" if upn_in == "userIds" else f"{{MIS:{100000 + i}}}"
        users.append([sid, "active", stamp, "true", "org-1", "student", f"pupil{i}", ids, p.forename, p.surname,
                      "", p.upn if upn_in == "identifier" else str(100000 + i), "", "", "", "", f"{p.year:02d}",
                      ""])
        demographics.append([sid, "active", stamp, p.born.isoformat(), "male" if p.gender == "M" else "female"])
        for title in p.classes:
            if title not in class_ids:
                class_ids[title] = f"c-{len(class_ids)}"
                classes.append([class_ids[title], "active", stamp, title, f"{p.year:02d}", "", title,
                                "homeroom" if " " not in title else "scheduled", "", "org-1", "term-1", "", "", ""])
            enrollments.append([f"e-{len(enrollments)}", "active", stamp, class_ids[title], "org-1", sid,
                                "student", "true", "", ""])
    if other_school:
        users.append(["s-other", "active", stamp, "true", "org-2", "student", "elsewhere", "", "Else", "Where", "",
                      make_upn(990, 1, 20, 1), "", "", "", "", "08", ""])
    files.update({"users.csv": users, "demographics.csv": demographics, "classes.csv": classes,
                  "enrollments.csv": enrollments})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, rows in files.items():
            if name not in drop:
                bundle.writestr(name, _csv(rows))
    return buffer.getvalue()
