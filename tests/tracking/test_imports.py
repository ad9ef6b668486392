"""Attainment and attendance: scales, the file checks, preview and apply, the commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AttainmentResult, AttendancePeriod, ChangeLog
from survey_app.models.upn import make_upn
from survey_app.tracking import scales
from survey_app.tracking.files import MAX_ROWS, TrackingFileError, decode, read_attainment, read_attendance
from survey_app.tracking.imports import ATTAINMENT, ATTENDANCE, apply_import, preview_import

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
P1, P2 = make_upn(201, 4000, 15, 1), make_upn(201, 4000, 15, 2)
HEAD = "UPN,Subject,Assessment,Date,Result,Target,Prediction,Scale\n"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("name", ["GCSE 9-1", "gcse 9–1", "GCSE 9 — 1", " Gcse9_1 "])
def test_scale_names_match_loosely(name):
    assert scales.scale_key(name) == scales.GCSE


@pytest.mark.parametrize("scale, raw, text, value", [
    (scales.GCSE, "u", "U", 0.0), (scales.GCSE, "9", "9", 9.0),
    (scales.WORKING_AT, "exs", "EXS", 2.0), (scales.PRE_KEY_STAGE, "Standard 3", "PK3", 3.0),
    (scales.P_LEVELS, "P2ii", "P2ii", 2.5), (scales.P_LEVELS, "p8", "P8", 8.0),
    (scales.STANDARDISED, "102", "102", 102.0), (scales.READING_AGE, "9:06", "9y 6m", 114.0),
    (scales.READING_AGE, "9y 6m", "9y 6m", 114.0), (scales.PERCENTAGE, "58 %", "58%", 58.0),
])
def test_values_are_placed_on_their_scale(scale, raw, text, value):
    assert scales.place(scale, raw) == scales.Placed(text, value)


@pytest.mark.parametrize("scale, raw", [(scales.GCSE, "10"), (scales.WORKING_AT, "GDS+"), (scales.P_LEVELS, "P5ii"),
                                        (scales.STANDARDISED, "200"), (scales.READING_AGE, "9:13"),
                                        (scales.PERCENTAGE, "101")])
def test_values_off_their_scale_are_refused(scale, raw):
    assert scales.place(scale, raw) is None


def test_target_is_judged_within_one_scale_and_prediction_is_kept_apart():
    checked = read_attainment(HEAD + f"{P1},Maths,Autumn 2,2026-12-04,6,5,7,GCSE 9-1\n")
    values = checked.rows[0].values
    assert (values["result_value"], values["target_value"], values["prediction_value"]) == (6.0, 5.0, 7.0)
    assert scales.against_target(values["result_value"], values["target_value"]) == "above"
    assert scales.against_target(5.0, 5.0) == "on" and scales.against_target(4.0, 5.0) == "below"
    assert scales.against_target(7.0, None) is None  # a prediction is no target
    # A target on another scale than the result is refused, never compared.
    bad = read_attainment(HEAD + f"{P1},Maths,Autumn 2,2026-12-04,6,EXS,,GCSE 9-1\n")
    assert "target 'EXS' is not on the GCSE 9–1 scale" in bad.problems[0].reason


def test_every_kind_of_bad_attainment_row_with_row_numbers():
    text = HEAD + "\n".join([
        f"{P1},Maths,Autumn 2,2026-12-04,6,5,,GCSE",  # row 2: good
        "X123,Maths,Autumn 2,2026-12-04,6,5,,GCSE",  # row 3: bad UPN
        f"{P1},,Autumn 2,2026-12-04,6,5,,GCSE",  # row 4: no subject
        f"{P1},English,Autumn 2,4th Dec,6,5,,GCSE",  # row 5: bad date
        f"{P1},Art,Autumn 2,2026-12-04,6,5,,Marks out of ten",  # row 6: unknown scale
        f"{P1},History,Autumn 2,2026-12-04,,5,,GCSE",  # row 7: no result
        f"{P1},Maths,autumn 2,2026-12-05,7,5,,GCSE",  # row 8: same subject and point as row 2
    ]) + "\n"
    checked = read_attainment(text)
    reasons = {p.row: p.reason for p in checked.problems}
    assert [r.row for r in checked.rows] == []
    assert "not 13 characters" in reasons[3] and "no subject" in reasons[4]
    assert "date '4th Dec' is not a date" in reasons[5] and "scale 'Marks out of ten'" in reasons[6]
    assert "no result" in reasons[7]
    assert "also on row 8" in reasons[2] and "also on row 2" in reasons[8]


def test_a_bare_number_needs_a_scale_column():
    checked = read_attainment("UPN,Subject,Assessment,Date,Result\n" + f"{P1},Maths,Autumn 2,2026-12-04,64\n"
                              + f"{P1},English,Autumn 2,2026-12-04,6\n")
    assert "add a Scale column" in checked.problems[0].reason
    assert checked.rows[0].values["scale"] == scales.GCSE


def test_attendance_rows():
    text = "UPN,From,To,Attendance %,Possible,Attended\n" + "\n".join([
        f"{P1},2026-09-03,2026-12-04,97.5,,",
        f"{P2},2026-09-03,2026-12-04,,240,204",
        f"{P1},2026-12-04,2026-09-03,90,,",
        f"{P2},2026-09-03,2026-10-01,,100,120",
        f"{P2},2026-10-02,2026-11-01,,,",
        f"{P2},2026-11-02,2026-12-01,105,,",
    ]) + "\n"
    checked = read_attendance(text)
    assert [(r.row, r.values["percent"]) for r in checked.rows] == [(2, 97.5), (3, 85.0)]
    reasons = {p.row: p.reason for p in checked.problems}
    assert "To date is before the From date" in reasons[4] and "more than possible" in reasons[5]
    assert "no attendance" in reasons[6] and "not a percentage" in reasons[7]


def test_files_refused_whole():
    with pytest.raises(TrackingFileError, match="no column 'Result'"):
        read_attainment("UPN,Subject,Assessment,Date\n")
    with pytest.raises(TrackingFileError, match="Excel workbook"):
        decode(b"PK\x03\x04rest")
    with pytest.raises(TrackingFileError, match=f"at most {MAX_ROWS:,}"):
        read_attendance("UPN,From,To,Attendance %\n" + f"{P1},2026-09-03,2026-12-04,90\n" * (MAX_ROWS + 1))


def test_preview_apply_and_reimport_is_idempotent(staff_world):
    school = staff_world.school
    checked = read_attainment(decode((EXAMPLES / "attainment.csv").read_bytes()))
    preview = preview_import(db.session, school, ATTAINMENT, checked)
    assert (len(preview.to_add), preview.problems) == (8, [])
    assert count(AttainmentResult) == 0  # a preview writes nothing
    result = apply_import(db.session, school, staff_world.lead, preview, filename="attainment.csv")
    db.session.commit()
    assert (result.added, result.changed, result.refused) == (8, 0, 0)
    entry = db.session.get(ChangeLog, result.log_id)
    assert (entry.action, entry.staff_id, entry.changes["added"]) == ("imported attainment", staff_world.lead.id, 8)
    again = preview_import(db.session, school, ATTAINMENT, checked)
    assert (again.writes, again.unchanged) == (0, 8)
    changed = read_attainment(HEAD + f"{P1},maths,AUTUMN 2,2026-12-04,7,5,6,GCSE 9-1\n")
    update = preview_import(db.session, school, ATTAINMENT, changed)
    assert [d for _, _, d in update.to_change] == [{"result": ["6", "7"], "result_value": [6.0, 7.0],
                                                    "subject": ["Maths", "maths"],
                                                    "assessment": ["Autumn 2", "AUTUMN 2"]}]


def test_a_upn_of_another_school_is_refused_and_refused_rows_change_nothing(staff_world):
    text = "UPN,From,To,Attendance %\n" + f"{staff_world.other_pupil.upn},2026-09-03,2026-12-04,90\n"
    preview = preview_import(db.session, staff_world.school, ATTENDANCE, read_attendance(text))
    assert preview.writes == 0 and "is on roll at Test School" in preview.problems[0].reason


def test_the_commands_dry_run_writes_nothing_and_refused_files_write_nothing(runner, staff_world):
    path = str(EXAMPLES / "attendance.csv")
    out = runner.invoke(args=["import-attendance", "--school", "100001", path, "--dry-run"])
    assert out.exit_code == 0 and "Dry run: nothing was written." in out.output
    assert count(AttendancePeriod) == 0
    out = runner.invoke(args=["import-attendance", "--school", "100001", path])
    assert out.exit_code == 0 and "Added 3, changed 0, unchanged 0, refused 0." in out.output
    out = runner.invoke(args=["import-attendance", "--school", "100001", path])
    assert "Added 0, changed 0, unchanged 3, refused 0." in out.output and count(AttendancePeriod) == 3
    bad = runner.invoke(args=["import-attainment", "--school", "200001", str(EXAMPLES / "attainment.csv")])
    assert bad.exit_code == 1 and "refused row 2" in bad.output and count(AttainmentResult) == 0
