"""Rosters from the MIS: OneRoster 1.1 bundles and Common Transfer Files, told apart by
content, through the same checks, preview, dry run and idempotent write as a CSV."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import ChangeLog, Group, Pupil
from survey_app.schools import roster_ctf
from survey_app.schools.roster_csv import MAX_ROWS, RosterFileError, parse_roster
from survey_app.schools.roster_files import read_roster_file
from tests.conftest import ROOT, csrf_from, login_as

from .mis_files import ctf_xml, made_up_pupils, oneroster_zip
from .test_roster_import import upload

EXAMPLES = ROOT / "docs" / "examples"


def read(data: bytes, **options):
    return read_roster_file(io.BytesIO(data), **options)


def school_pupils(school) -> dict[str, Pupil]:
    return {p.upn: p for p in db.session.scalars(sa.select(Pupil).where(Pupil.school_id == school.id))}


# ----- reading the files (no database) ---------------------------------------------------


def test_ctf_fields():
    pupils = made_up_pupils(7)
    parsed = parse_roster(read(ctf_xml(pupils), today=date(2026, 12, 1)).text)
    assert not parsed.problems and len(parsed.rows) == 7
    first, fourth = parsed.rows[0].values, parsed.rows[3].values
    assert first == {"first_name": "Pref00000", "surname": "Surname00000", "year_group": 7, "gender": "Male",
                     "date_of_birth": pupils[0].born, "sen": "N", "fsm": True, "eal": False}
    assert (fourth["first_name"], fourth["eal"], fourth["fsm"]) == ("Forename00003", True, False)
    assert parsed.rows[6].values["sen"] == "E" and parsed.rows[4].values["sen"] == "K"


def test_oneroster_fields_org_and_upn_choice():
    pupils = made_up_pupils(3)
    text = read(oneroster_zip(pupils), urn="100001").text
    parsed = parse_roster(text)
    # users.csv: header, two teachers, then the pupils; the other school's student is left out
    assert [r.row for r in parsed.rows] == [4, 5, 6] and not parsed.problems
    assert parsed.rows[1].values == {"first_name": "Forename00001", "surname": "Surname00001", "year_group": 8,
                                     "gender": "Female", "date_of_birth": pupils[1].born}
    by_ids = parse_roster(read(oneroster_zip(pupils, upn_in="userIds"), urn="100001").text)
    assert [r.upn for r in by_ids.rows] == [p.upn for p in pupils]
    mis_ids = parse_roster(read(oneroster_zip(pupils, upn_in="userIds"), urn="100001",
                                upn_field="identifier").text)
    assert [p.reason for p in mis_ids.problems][0] == "UPN '100000' is not 13 characters (it has 6)"
    assert [r.upn for r in parse_roster(read(oneroster_zip(pupils, upn_in="userIds"), urn="100001",
                                             upn_field="userIds:UPN").text).rows] == [p.upn for p in pupils]
    only = read(oneroster_zip(pupils, other_school=False), urn="123456")
    assert only.facts["org"] == "Made Up School" and len(parse_roster(only.text).rows) == 3


@pytest.mark.parametrize(("data", "message"), [
    (oneroster_zip(made_up_pupils(2), drop=("users.csv",)), "not a OneRoster bundle (it has no users.csv)"),
    (oneroster_zip(made_up_pupils(2)), "has 2 school orgs and none has the identifier 555555"),
    (b"PK\x03\x04" + b"\x00" * 60, "damaged ZIP file or an Excel workbook"),
    (b"<?xml version='1.0'?><html><body/></html>", "not a Common Transfer File"),
    (b"<CTfile><Header><DocumentName>Common Transfer File</DocumentName></Header><CTFpupilData><Pupil>",
     "not well formed"),
])
def test_broken_files_are_refused_in_words(data, message):
    with pytest.raises(RosterFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_roster(read(data, urn="555555").text)


def test_wrong_oneroster_version_and_zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.csv", "propertyName,value\r\noneroster.version,1.0\r\n")
        bundle.writestr("orgs.csv", "sourcedId\r\n")
        bundle.writestr("users.csv", "sourcedId\r\n")
    with pytest.raises(RosterFileError, match="OneRoster version '1.0'"):
        read(buffer.getvalue())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.csv", "propertyName,value\r\noneroster.version,1.1\r\n")
        bundle.writestr("users.csv", b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(RosterFileError, match="unpacks to more than a roster can be"):
        read(bomb.getvalue())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CTfile><Header><DocumentName>Common Transfer File</DocumentName></Header>
<CTFpupilData><Pupil><UPN>&lol3;</UPN></Pupil></CTFpupilData></CTfile>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<CTfile><Header><DocumentName>Common Transfer File</DocumentName></Header>
<CTFpupilData><Pupil><UPN>&secret;</UPN></Pupil></CTFpupilData></CTfile>"""
DOCTYPE_ONLY = b"""<?xml version="1.0"?><!DOCTYPE CTfile SYSTEM "http://127.0.0.1:9/ctf.dtd"><CTfile/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL, DOCTYPE_ONLY], ids=["billion-laughs", "external", "dtd"])
def test_hostile_xml_is_refused_unread(data):
    with pytest.raises(RosterFileError) as refused:
        read(data)
    assert str(refused.value) == roster_ctf.HOSTILE


def test_fifteen_thousand_pupils():
    roster = read(ctf_xml(made_up_pupils(MAX_ROWS)))
    parsed = parse_roster(roster.text)
    assert len(parsed.rows) == MAX_ROWS and not parsed.problems
    rows, _ = roster_ctf.read_ctf(io.BytesIO(ctf_xml(made_up_pupils(6))), date(2026, 12, 1), max_rows=5)
    with pytest.raises(RosterFileError, match="more than 5 pupils"):
        list(rows)


def _peak_reading(data: bytes) -> int:
    tracemalloc.start()
    try:
        read(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_flat_in_the_file_size():
    """The same 60 pupils, once with a year of history each and once with three hundred:
    the file is fifteen times larger, the memory to read it well under twice as much (what
    grows is one pupil's history, held until the pupil is read)."""
    small = ctf_xml(made_up_pupils(60))
    large = small.replace(b"<Attendance>", b"<Attendance>" + b"<YearData><Year>2020</Year></YearData>" * 300)
    assert len(large) > 15 * len(small)
    _peak_reading(small)  # the first read also loads modules and fills caches
    assert _peak_reading(large) < 1.6 * _peak_reading(small)


def test_the_examples_in_docs_are_good_files():
    for name, kind in (("oneroster-bundle.zip", "oneroster"), ("common-transfer-file.xml", "ctf")):
        roster = read((EXAMPLES / name).read_bytes(), urn="100001")
        parsed = parse_roster(roster.text)
        assert roster.kind == kind and len(parsed.rows) >= 5 and not parsed.problems, name


# ----- through the command and the school's page (both databases) -------------------------


def test_import_pupils_command_reads_ctf_and_oneroster_by_content(runner, staff_world, tmp_path):
    school = staff_world.school
    ctf = tmp_path / "from-the-mis.dat"  # the name says nothing: the content does
    ctf.write_bytes(ctf_xml(made_up_pupils(6), urn=school.urn))
    dry = runner.invoke(args=["import-pupils", "--school", school.urn, str(ctf), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "6 rows (Common Transfer File)" in dry.output and "Dry run: nothing was written." in dry.output
    assert len(school_pupils(school)) == 4
    done = runner.invoke(args=["import-pupils", "--school", school.urn, str(ctf)])
    assert done.exit_code == 0 and "Added 6, changed 0, unchanged 0, refused 0." in done.output, done.output
    pupil = school_pupils(school)[made_up_pupils(6)[4].upn]
    assert (pupil.date_of_birth, pupil.sen, pupil.fsm, pupil.eal, pupil.gender) == (
        made_up_pupils(6)[4].born, "K", True, True, "Male")
    again = runner.invoke(args=["import-pupils", "--school", school.urn, str(ctf)])
    assert "Added 0, changed 0, unchanged 6, refused 0." in again.output
    bundle = tmp_path / "roster.zip"
    changed = made_up_pupils(6, year_shift=1)
    bundle.write_bytes(oneroster_zip(changed, urn=school.urn))
    result = runner.invoke(args=["import-pupils", "--school", school.urn, str(bundle)])
    assert "(OneRoster 1.1 bundle)" in result.output
    assert "Added 0, changed 6, unchanged 0, refused 0." in result.output, result.output
    assert school_pupils(school)[changed[0].upn].year_group == 8
    assert school_pupils(school)[changed[0].upn].fsm is True  # a bundle has no FSM: left as it was
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(BILLION_LAUGHS)
    refused = runner.invoke(args=["import-pupils", "--school", school.urn, str(hostile)])
    assert refused.exit_code == 1 and "declares a document type or entities" in refused.output


def test_oneroster_bundle_through_the_schools_page(client, staff_world):
    login_as(client, staff_world.lead)
    pupils = made_up_pupils(4)
    resp = upload(client, staff_world.school.id, oneroster_zip(pupils, urn=staff_world.school.urn), "export.zip")
    assert resp.status_code == 302, resp.text
    preview = client.get(resp.location)
    assert "Import 4 pupils" in preview.text
    digest = preview.text.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    assert done.status_code == 302
    assert {p.upn for p in pupils} <= set(school_pupils(staff_world.school))
    assert db.session.scalar(sa.select(ChangeLog.changes).where(ChangeLog.action == "imported pupils"))[
        "filename"] == "export.zip"
    hostile = upload(client, staff_world.school.id, EXTERNAL, "ctf.xml")
    assert hostile.status_code == 400 and "declares a document type or entities" in hostile.text


def test_classes_become_groups_once(runner, staff_world, tmp_path):
    school = staff_world.school
    bundle = tmp_path / "roster.zip"
    bundle.write_bytes(oneroster_zip(made_up_pupils(4), urn=school.urn))
    args = ["import-pupils", "--school", school.urn, str(bundle), "--classes-as-groups"]
    first = runner.invoke(args=args)
    assert "Made 8 groups; added 8 pupils to their class groups." in first.output, first.output
    groups = {g.name: g for g in db.session.scalars(sa.select(Group).where(Group.school_id == school.id))}
    assert set(groups) == {"7A", "8B", "9C", "10D", "Maths 7X", "Maths 8Y", "Maths 9X", "Maths 10Y"}
    assert groups["8B"].kind == "class" and [p.upn for p in groups["8B"].pupils] == [made_up_pupils(4)[1].upn]
    again = runner.invoke(args=args)
    assert "Groups: 0 to make; 0 pupils to add" in again.output and "Made" not in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == len(groups) + 2
