"""Roster import: the parser, preview and apply, the command, and the web flow."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from survey_app.accounts.scope import Scope
from survey_app.db import db
from survey_app.models import ChangeLog, PendingImport, Pupil, School
from survey_app.models.base import utcnow
from survey_app.models.upn import make_upn
from survey_app.schools import roster, roster_csv
from survey_app.schools.roster import apply_import, preview_import
from survey_app.schools.roster_csv import MAX_ROWS, NOT_UTF8, RosterFileError, decode_upload, parse_roster
from tests.conftest import csrf_from, login_as

DATA = Path(__file__).resolve().parents[1] / "data"
UPN = make_upn(201, 4000, 16, 1)  # well formed, not in the staff world


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def parse_file(name: str):
    return parse_roster(decode_upload(data(name)))


def pupils_csv(n: int, start: int = 1, year: str = "7") -> str:
    lines = ["UPN,Surname,Forename,Year,Reg Group"]
    lines += [f"{make_upn(880, 1234 + i // 1000, 20, i % 1000)},Surname{i},First{i},{year},7{'ABC'[i % 3]}"
              for i in range(start, start + n)]
    return "\n".join(lines) + "\n"


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# ----- the parser (no database) ----------------------------------------------------------


@pytest.mark.parametrize("header, line", [
    ("UPN,Legal Surname,Forename,Year", f"{UPN},Smith,Ann,7"),
    ("  upn ,LAST NAME,first name,Year Group", f"{UPN},Smith,Ann,Y7"),
    ("Unique Pupil Number,Surname,Legal Forename,National Curriculum Year", f"{UPN},Smith,Ann,Year 7"),
    ("UPN;Surname;First_Name;NC Year", f"{UPN};Smith;Ann;7"),
    ("UPN\tSurname\tForename\tYear", f"{UPN}\tSmith\tAnn\t7"),
])
def test_header_variants_are_recognised(header, line):
    parsed = parse_roster(f"{header}\n{line}\n")
    assert not parsed.problems
    assert [(r.upn, r.values) for r in parsed.rows] == [
        (UPN, {"first_name": "Ann", "surname": "Smith", "year_group": 7})]
    assert parsed.fields == ("upn", "first_name", "surname", "year_group")


@pytest.mark.parametrize("typed, year", [
    ("7", 7), ("07", 7), ("Y7", 7), ("Year 7", 7), ("year7", 7), ("NC Year 7", 7), ("Yr 11", 11),
    ("R", 0), ("Reception", 0), ("YR", 0), ("0", 0), ("14", 14), ("1", 1),
])
def test_year_values(typed, year):
    parsed = parse_roster(f"UPN,Surname,Forename,Year\n{UPN},Smith,Ann,{typed}\n")
    assert parsed.rows[0].values["year_group"] == year


@pytest.mark.parametrize("typed", ["15", "Y15", "N2", "seven", "-1", "7.5"])
def test_bad_year_values(typed):
    parsed = parse_roster(f"UPN,Surname,Forename,Year\n{UPN},Smith,Ann,{typed}\n")
    assert parsed.problems[0].reason == f"year group '{typed}' is not R (Reception) or 1 to 14"


@pytest.mark.parametrize("sen, fsm, expected", [
    ("N", "N", ("N", False)), ("K", "Y", ("K", True)), ("E", "yes", ("E", True)),
    ("SEN Support", "True", ("K", True)), ("EHC Plan", "T", ("E", True)), ("None", "F", ("N", False)),
    ("", "", ("N", False)), ("n", "0", ("N", False)), ("e", "1", ("E", True)), ("No", "false", ("N", False)),
])
def test_sen_and_fsm_values(sen, fsm, expected):
    parsed = parse_roster(f"UPN,Surname,Forename,Year,SEN Status,Pupil Premium\n{UPN},Smith,Ann,7,{sen},{fsm}\n")
    values = parsed.rows[0].values
    assert (values["sen"], values["fsm"]) == expected


@pytest.mark.parametrize("header, typed, eal", [
    ("EAL", "Y", True), ("EAL", "No", False), ("EAL", "", False),
    ("First Language", "English", False), ("First Language", "ENG", False), ("First Language", "", False),
    ("First Language", "Polish", True), ("First Language", "Urdu", True),
])
def test_eal_from_eal_or_first_language(header, typed, eal):
    parsed = parse_roster(f"UPN,Surname,Forename,Year,{header}\n{UPN},Smith,Ann,7,{typed}\n")
    assert parsed.rows[0].values["eal"] is eal


@pytest.mark.parametrize("typed, gender", [
    ("M", "Male"), ("f", "Female"), ("Female", "Female"), ("MALE", "Male"), ("", None), ("U", "U"),
])
def test_gender_values(typed, gender):
    parsed = parse_roster(f"UPN,Surname,Forename,Year,Sex\n{UPN},Smith,Ann,7,{typed}\n")
    assert parsed.rows[0].values["gender"] == gender


def test_preferred_forename_is_used_and_legal_fills_blanks():
    upn2 = make_upn(201, 4000, 16, 2)
    parsed = parse_roster("UPN,Legal Surname,Legal Forename,Preferred Forename,Year\n"
                          f"{UPN},Smith,Alexandra,Alex,7\n{upn2},Jones,Benjamin,,8\n")
    assert [r.values["first_name"] for r in parsed.rows] == ["Alex", "Benjamin"]
    assert parsed.columns["first_name"] == ["Preferred Forename", "Legal Forename"]


def test_the_sample_export_with_a_bom():
    parsed = parse_file("roster_basic.csv")
    assert parsed.header_row == 1 and parsed.ignored == [] and not parsed.problems
    assert [r.row for r in parsed.rows] == [2, 3, 4, 5]
    assert parsed.rows[0].upn == "J201400015001"  # the BOM is not part of the first header
    values = parsed.rows[1].values
    assert values.pop("date_of_birth").year > 2000  # date of birth is read since MIS rosters came in
    assert values == {"first_name": "Pupil1", "surname": "Tester", "year_group": 8,
                      "reg_group": "8B", "gender": "Male", "sen": "K", "fsm": True, "eal": True}
    assert parsed.rows[3].values["year_group"] == 0 and parsed.rows[3].values["gender"] is None
    assert parse_roster("\ufeff" + decode_upload(data("roster_basic.csv"))).total_rows == 4


def test_bad_rows_each_with_their_reasons_and_spreadsheet_row_numbers():
    parsed = parse_file("roster_bad_rows.csv")
    reasons = {p.row: p.reason for p in parsed.problems}
    assert reasons == {
        3: "no UPN",
        4: "UPN 'Q20140001500' is not 13 characters (it has 12)",
        5: "UPN 'A201400015005': the check letter does not match (is a character mistyped?)",
        6: "year group '15' is not R (Reception) or 1 to 14",
        7: "no surname",
        8: "the same UPN is also on row 9",
        9: "the same UPN is also on row 8",
        10: "SEN 'X' is not N, K or E (or None, SEN Support, EHC Plan); FSM 'maybe' is not Yes or No",
    }
    assert [r.row for r in parsed.rows] == [2, 11]


def test_formula_cells_are_kept_as_typed():
    row = parse_file("roster_bad_rows.csv").rows[1]
    assert row.values["surname"] == '=HYPERLINK("http://x.example","click")'
    assert row.values["first_name"] == "+Plus"


def test_header_below_a_title_row_and_blank_rows_keep_spreadsheet_numbers():
    text = f"Pupil list for Test School,,,\n\nUPN,Surname,Forename,Year\n,,,\n{UPN},Smith,Ann,7\n,,,\n"
    parsed = parse_roster(text)
    assert parsed.header_row == 3 and [r.row for r in parsed.rows] == [5] and not parsed.problems


def test_quoted_newlines_count_as_one_spreadsheet_row():
    upn2 = make_upn(201, 4000, 16, 2)
    parsed = parse_roster(f'UPN,Surname,Forename,Year,Notes\n{UPN},Smith,Ann,7,"two\nlines"\n{upn2},Jo,Bo,99,\n')
    assert parsed.problems[0].row == 3


def test_latin1_bytes_are_refused_with_the_utf8_message():
    with pytest.raises(RosterFileError) as exc:
        decode_upload(data("roster_latin1.csv"))
    assert str(exc.value).startswith(NOT_UTF8) and "line 2" in str(exc.value)
    with pytest.raises(RosterFileError, match="not UTF-8"):
        decode_upload("UPN,Surname\n".encode("utf-16"))


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "Excel workbook"),
    (b"%PDF-1.7\n", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not text"),
    (b"", "empty"),
])
def test_files_that_are_not_csv_are_refused(content, message):
    with pytest.raises(RosterFileError, match=message):
        decode_upload(content)


def test_text_without_a_header_row_is_refused():
    with pytest.raises(RosterFileError, match="no header row"):
        parse_roster("Dear parents,\nThe trip is on Friday.\n")


def test_missing_required_columns_are_named():
    with pytest.raises(RosterFileError) as exc:
        parse_roster(f"UPN,Surname,Gender\n{UPN},Smith,F\n")
    assert "no column for forename (e.g. 'Forename') and year group (e.g. 'Year')" in str(exc.value)
    with pytest.raises(RosterFileError, match="no column for UPN"):
        parse_roster("Surname,Forename,Year\nSmith,Ann,7\n")


def test_row_limit():
    assert len(parse_roster(pupils_csv(MAX_ROWS)).rows) == MAX_ROWS
    with pytest.raises(RosterFileError, match="15,001 pupil rows; one import takes at most 15,000"):
        parse_roster(pupils_csv(MAX_ROWS + 1))


def test_size_limit():
    with pytest.raises(RosterFileError, match="larger than 3 MB"):
        decode_upload(b"UPN,Surname,Forename,Year\n" + b"x" * roster_csv.MAX_BYTES)


# ----- preview and apply (both databases) ------------------------------------------------


def test_preview_then_apply(staff_world):
    school = staff_world.school
    preview = preview_import(db.session, school, parse_file("roster_basic.csv"))
    assert [r.upn for r in preview.to_add] == ["Q201400015005", "E201400015006"]
    assert {c.row.upn: c.changes for c in preview.to_change} == {
        "J201400015001": {"reg_group": [None, "7A"], "gender": [None, "Female"],
                          "date_of_birth": [None, date(2012, 9, 1)]},
        "Y201400015002": {"reg_group": [None, "8B"], "gender": [None, "Male"], "sen": ["N", "K"],
                          "fsm": [False, True], "eal": [False, True], "date_of_birth": [None, date(2011, 10, 2)]},
    }
    assert preview.unchanged == [] and preview.problems == [] and preview.not_in_file == 2
    assert count(Pupil) == 6  # a preview writes nothing
    result = apply_import(db.session, school, staff_world.lead, preview, filename="roster_basic.csv")
    db.session.commit()
    assert (result.added, result.changed, result.unchanged, result.refused) == (2, 2, 0, 0)
    nia = db.session.scalar(sa.select(Pupil).where(Pupil.upn == "Q201400015005"))
    assert (nia.school_id, nia.first_name, nia.year_group, nia.sen, nia.fsm, nia.eal, nia.gender) == (
        school.id, "Nia", 7, "E", True, False, "Female")
    summary = db.session.get(ChangeLog, result.log_id)
    assert (summary.entity, summary.entity_id, summary.staff_id) == ("school", school.id, staff_world.lead.id)
    assert summary.changes["added"] == 2 and summary.changes["filename"] == "roster_basic.csv"
    imported = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.entity == "pupil",
                                                            ChangeLog.entity_id == nia.id))
    assert imported.action == "imported" and imported.changes["first_name"] == [None, "Nia"]
    updated = db.session.scalar(sa.select(ChangeLog).where(
        ChangeLog.entity_id == staff_world.pupils[1].id, ChangeLog.action == "updated by import"))
    assert updated.changes["sen"] == ["N", "K"] and updated.staff_id == staff_world.lead.id


def test_importing_the_same_file_again_changes_nothing(staff_world):
    school = staff_world.school
    parsed = parse_file("roster_basic.csv")
    apply_import(db.session, school, None, preview_import(db.session, school, parsed))
    db.session.commit()
    before = {p.upn: (p.updated_at, p.reg_group) for p in db.session.scalars(sa.select(Pupil))}
    pupil_entries = count(ChangeLog, ChangeLog.entity == "pupil")
    again = preview_import(db.session, school, parse_file("roster_basic.csv"))
    assert (len(again.to_add), len(again.to_change), len(again.unchanged)) == (0, 0, 4)
    result = apply_import(db.session, school, None, again)
    db.session.commit()
    db.session.expire_all()
    assert (result.added, result.changed, result.unchanged) == (0, 0, 4)
    assert {p.upn: (p.updated_at, p.reg_group) for p in db.session.scalars(sa.select(Pupil))} == before
    assert count(ChangeLog, ChangeLog.entity == "pupil") == pupil_entries


def test_columns_the_file_lacks_are_left_alone(staff_world):
    pupil = staff_world.pupils[0]
    pupil.sen, pupil.fsm, pupil.reg_group = "K", True, "7Z"
    db.session.commit()
    text = f"UPN,Surname,Forename,Year\n{pupil.upn},Tester,Pupil0,7\n"
    preview = preview_import(db.session, staff_world.school, parse_roster(text))
    assert len(preview.unchanged) == 1 and not preview.to_change


def test_an_archived_pupil_in_the_file_comes_back_on_roll(staff_world):
    pupil = staff_world.pupils[0]
    pupil.archived = True
    db.session.commit()
    text = f"UPN,Surname,Forename,Year\n{pupil.upn},Tester,Pupil0,7\n"
    preview = preview_import(db.session, staff_world.school, parse_roster(text))
    assert preview.to_change[0].changes == {"archived": [True, False]}
    apply_import(db.session, staff_world.school, None, preview)
    db.session.commit()
    db.session.refresh(pupil)
    assert pupil.archived is False


def test_a_upn_on_roll_at_another_school_is_added_and_nothing_says_so(client, staff_world):
    """An import must not tell anyone that a UPN is on roll at a school they cannot see: a
    pupil who moved school is added here as a new pupil, as any other new UPN would be, and
    the other school's record is left as it was."""
    w = staff_world
    text = ("UPN,Surname,Forename,Year\n"
            f"{w.other_pupil.upn},Other,Olu,8\n{w.pupil2.upn},Second,Sam,9\n")
    lead_view = preview_import(db.session, w.school, parse_roster(text), scope=Scope(w.lead))
    assert lead_view.problems == []
    assert sorted(r.upn for r in lead_view.to_add) == sorted([w.other_pupil.upn, w.pupil2.upn])
    login_as(client, w.lead)
    resp = upload(client, w.school.id, text.encode(), "moved.csv")
    preview = client.get(resp.location)
    assert "Elsewhere Academy" not in preview.text and "another school" not in preview.text
    assert "Second School" not in preview.text
    apply_import(db.session, w.school, None, lead_view)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pupil).where(
        Pupil.upn == w.other_pupil.upn)) == 2
    db.session.refresh(w.other_pupil)
    assert w.other_pupil.school_id == w.other_school.id


def test_apply_is_bulk(app, staff_world):
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper())

    text = pupils_csv(300)
    parsed = parse_roster(text)
    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        preview = preview_import(db.session, staff_world.school, parsed)
        apply_import(db.session, staff_world.school, None, preview)
        db.session.commit()
        changed = parse_roster(text.replace(",7,", ",8,"))
        statements.clear()
        preview = preview_import(db.session, staff_world.school, changed)
        assert len(preview.to_change) == 300
        apply_import(db.session, staff_world.school, None, preview)
        db.session.commit()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert statements.count("SELECT") <= 3, statements
    assert len(statements) <= 10, statements
    assert count(Pupil, Pupil.year_group == 8, Pupil.school_id == staff_world.school.id) == 300 + 1


def test_a_failure_part_way_writes_nothing(staff_world, monkeypatch):
    preview = preview_import(db.session, staff_world.school, parse_file("roster_basic.csv"))
    real_insert = roster.insert

    def failing_insert(target):
        if target is ChangeLog:
            raise RuntimeError("disk full")
        return real_insert(target)

    monkeypatch.setattr(roster, "insert", failing_insert)
    with pytest.raises(RuntimeError):
        apply_import(db.session, staff_world.school, staff_world.lead, preview)
    db.session.commit()
    assert count(Pupil) == 6 and count(ChangeLog) == 0
    assert db.session.scalar(sa.select(Pupil.reg_group).where(Pupil.upn == "J201400015001")) is None


# ----- the command -----------------------------------------------------------------------


def test_command_dry_run_writes_nothing(runner, staff_world):
    result = runner.invoke(args=["import-pupils", "--school", "100001", str(DATA / "roster_basic.csv"),
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "roster_basic.csv… 4 rows" in result.output and "Checking" in result.output
    assert "To add: 2; to change: 2; unchanged: 0; refused: 0" in result.output
    assert "change row 3 (Y201400015002): " in result.output and "sen N (None) → K (SEN support)" in result.output
    assert "Dry run: nothing was written." in result.output and count(Pupil) == 6


def test_command_imports_a_good_file(runner, staff_world):
    result = runner.invoke(args=["import-pupils", "--school", "100001", str(DATA / "roster_basic.csv")])
    assert result.exit_code == 0, result.output
    assert "Writing… done" in result.output and "Added 2, changed 2, unchanged 0, refused 0." in result.output
    assert count(Pupil) == 8
    again = runner.invoke(args=["import-pupils", "--school", "100001", str(DATA / "roster_basic.csv")])
    assert again.exit_code == 0 and "Added 0, changed 0, unchanged 4, refused 0." in again.output


def test_command_refuses_a_file_with_bad_rows(runner, staff_world):
    path = str(DATA / "roster_bad_rows.csv")
    result = runner.invoke(args=["import-pupils", "--school", "100001", path])
    assert result.exit_code == 1
    assert "refused row 4 (Q20140001500): UPN 'Q20140001500' is not 13 characters (it has 12)" in result.output
    assert "refused row 3: no UPN" in result.output
    assert "Nothing was written: 8 rows were refused" in result.output and count(Pupil) == 6
    dry = runner.invoke(args=["import-pupils", "--school", "100001", path, "--dry-run"])
    assert dry.exit_code == 1 and count(Pupil) == 6
    forced = runner.invoke(args=["import-pupils", "--school", "100001", path, "--force-valid-only"])
    assert forced.exit_code == 0, forced.output
    assert "Added 2, changed 0, unchanged 0, refused 8." in forced.output and count(Pupil) == 8
    formula = db.session.scalar(sa.select(Pupil).where(Pupil.upn == "Y201400016003"))
    assert formula.surname.startswith("=HYPERLINK(")


def test_command_unknown_school_and_unreadable_file(runner, staff_world):
    result = runner.invoke(args=["import-pupils", "--school", "999999", str(DATA / "roster_basic.csv")])
    assert result.exit_code == 1 and "No school has URN 999999" in result.output
    latin = runner.invoke(args=["import-pupils", "--school", "100001", str(DATA / "roster_latin1.csv")])
    assert latin.exit_code == 1 and NOT_UTF8 in latin.output


# ----- the web flow ----------------------------------------------------------------------


def upload(client, school_id, content: bytes, filename="roster.csv"):
    page = client.get("/staff/schools/import")
    # Encoded in memory: the test client's own encoder leaves a temporary file open for big bodies.
    stream, length, boundary = stream_encode_multipart({
        "csrf_token": csrf_from(page.text), "school": str(school_id),
        "roster": FileStorage(io.BytesIO(content), filename, content_type="text/csv")}, use_tempfile=False)
    return client.post("/staff/schools/import", data=stream.read(),
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_upload_preview_confirm(client, staff_world):
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world.school.id, data("roster_bad_rows.csv"), "export.csv")
    assert resp.status_code == 302 and "/staff/schools/import/" in resp.location
    preview = client.get(resp.location)
    assert preview.status_code == 200
    text = preview.text
    assert "Nothing has been written yet" in text and "export.csv" in text
    assert "Import the 2 valid rows; skip 8 bad rows" in text
    assert "no UPN" in text and "the same UPN is also on row 9" in text
    assert "=HYPERLINK(&#34;http://x.example&#34;,&#34;click&#34;)" in text  # escaped, shown as typed
    assert count(Pupil) == 6
    confirm_url = resp.location + "/confirm"
    refused_csv = client.get(resp.location + "/refused.csv")
    assert refused_csv.status_code == 200 and "row,upn,reason" in refused_csv.text
    without_csrf = client.post(confirm_url, data={"digest": "x"})
    assert without_csrf.status_code == 400 and count(Pupil) == 6
    digest = text.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(confirm_url, data={"csrf_token": csrf_from(text), "digest": digest})
    assert done.status_code == 302 and "/imports/" in done.location
    assert count(Pupil) == 8 and count(PendingImport) == 0
    result = client.get(done.location)
    assert result.status_code == 200 and "Rows that were not imported (8)" in result.text
    assert client.post(confirm_url, data={"csrf_token": csrf_from(text), "digest": digest}).status_code == 404
    school_page = client.get(f"/staff/schools/{staff_world.school.id}")
    assert "export.csv" in school_page.text


def test_a_good_file_says_import_n_pupils_and_cancel_deletes(client, staff_world):
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world.school.id, data("roster_basic.csv"))
    preview = client.get(resp.location)
    assert "Import 4 pupils" in preview.text and "2 pupils are on roll" in preview.text
    cancel = client.post(resp.location + "/cancel", data={"csrf_token": csrf_from(preview.text)})
    assert cancel.status_code == 302 and count(PendingImport) == 0 and count(Pupil) == 6
    assert client.get(resp.location).status_code == 404


def test_confirm_after_the_pupils_changed_asks_again(client, staff_world):
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world.school.id, data("roster_basic.csv"))
    preview = client.get(resp.location)
    digest = preview.text.split('name="digest" type="hidden" value="')[1].split('"')[0]
    staff_world.pupils[0].reg_group = "7A"  # someone else edits meanwhile
    db.session.commit()
    stale = client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview.text),
                                                          "digest": digest})
    assert stale.status_code == 409 and "changed after you looked" in stale.text
    assert count(Pupil) == 6 and count(PendingImport) == 1


def test_pending_imports_belong_to_their_uploader_and_expire(app, client, staff_world):
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world.school.id, data("roster_basic.csv"))
    other = app.test_client()
    login_as(other, staff_world.admin)
    assert other.get(resp.location).status_code == 404
    page = other.get("/staff/schools/import")
    assert other.post(resp.location + "/confirm", data={"csrf_token": csrf_from(page.text)}).status_code == 404
    pending = db.session.scalar(sa.select(PendingImport))
    pending.created_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    assert client.get(resp.location).status_code == 404


def test_upload_refusals_show_on_the_form(client, staff_world):
    login_as(client, staff_world.lead)
    school = staff_world.school.id
    latin = upload(client, school, data("roster_latin1.csv"))
    assert latin.status_code == 400 and "This file is not UTF-8 text: save it as &#39;CSV UTF-8&#39;" in latin.text
    big = upload(client, school, b"UPN,Surname,Forename,Year\n" + b"x" * (3 * 1024 * 1024 + 10))
    assert big.status_code == 400 and "larger than 3 MB" in big.text
    xlsx = upload(client, school, b"PK\x03\x04" + b"\x00" * 100, "roster.xlsx")
    assert xlsx.status_code == 400 and "Excel workbook" in xlsx.text
    missing = upload(client, school, b"UPN,Surname\nX,Y\n")
    assert missing.status_code == 400 and "no column for forename" in missing.text
    page = client.get("/staff/schools/import")
    none = client.post("/staff/schools/import", data={"csrf_token": csrf_from(page.text), "school": school})
    assert none.status_code == 400 and "Choose the CSV file" in none.text
    assert count(PendingImport) == 0


def test_import_access(client, staff_world):
    login_as(client, staff_world.other_lead)
    assert upload(client, staff_world.school.id, data("roster_basic.csv")).status_code == 404
    page = client.get("/staff/schools/import")
    assert "Elsewhere Academy" in page.text and "Test School" not in page.text
    login_as(client, staff_world.teacher)
    assert client.get("/staff/schools/import").status_code == 403
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world.school.id, data("roster_basic.csv"))
    preview = client.get(resp.location)
    digest = preview.text.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    log_id = done.location.rsplit("/", 1)[1]
    login_as(client, staff_world.other_lead)
    assert client.get(f"/staff/schools/{staff_world.school.id}/imports/{log_id}").status_code == 404
    with client.session_transaction() as sess:
        sess.clear()
    anonymous = client.get("/staff/schools/import")
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.location


def test_refused_rows_csv_neutralises_formulas(client, staff_world):
    login_as(client, staff_world.lead)
    text = "UPN,Surname,Forename,Year\n=1+2,Smith,Ann,7\n@SUM(A1),Jones,Bo,7\n"
    resp = upload(client, staff_world.school.id, text.encode())
    exported = client.get(resp.location + "/refused.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["upn"] for r in rows] == ["'=1+2", "'@SUM(A1)"]
    assert exported.headers["Content-Type"].startswith("text/csv")


def test_two_thousand_rows_through_the_web(client, staff_world):
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world.school2.id, pupils_csv(2000).encode())
    preview = client.get(resp.location)
    assert "Import 2000 pupils" in preview.text
    digest = preview.text.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    assert done.status_code == 302
    assert count(Pupil, Pupil.school_id == staff_world.school2.id) == 2000 + 1
    assert count(School) == 3
