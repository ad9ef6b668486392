"""The tracking list pages: selection in the URL inside the scope, sorting and filtering on
any column, the files and the print view."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from survey_app.db import db
from survey_app.models import AuditEvent
from survey_app.tracking.files import decode, read_attainment
from survey_app.tracking.imports import ATTAINMENT, apply_import, preview_import
from tests.conftest import login_as

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _import(world) -> None:
    checked = read_attainment(decode((EXAMPLES / "attainment.csv").read_bytes()))
    apply_import(db.session, world.school, None, preview_import(db.session, world.school, ATTAINMENT, checked))
    db.session.commit()


def test_the_list_sorts_filters_and_stays_in_scope(client, staff_world):
    _import(staff_world)
    login_as(client, staff_world.lead)
    page = client.get("/staff/tracking/")
    assert page.status_code == 200 and "Choose a school, a group or a year group" in page.text
    url = f"/staff/tracking/?school={staff_world.school.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Fragile learner" in page.text and "not labels" in page.text
    names = [p.display_name for p in staff_world.pupils]
    assert all(n in page.text for n in names) and "Sam Second" not in page.text
    sorted_page = client.get(url + "&sort=s:Maths&dir=desc").text
    # Maths: pupil 0 above target (6 v 5), pupil 2 PK4 v PK5 below, pupil 1 standardised below.
    assert sorted_page.index("6 (target 5, above target)") < sorted_page.index("PK4 (target PK5, below target)")
    filtered = client.get(url + "&f.s:Maths=above").text
    assert names[0] in filtered and names[1] not in filtered and "1</strong> of 4 pupils" in filtered
    # Another school's id is not found, not an empty list.
    assert client.get(f"/staff/tracking/?school={staff_world.other_school.id}").status_code == 404
    assert client.get("/staff/tracking/?year=nine").status_code == 400


def test_a_teacher_sees_only_their_groups_pupils_and_the_files_are_audited(client, staff_world):
    _import(staff_world)
    login_as(client, staff_world.teacher_b)
    page = client.get(f"/staff/tracking/?group={staff_world.group_b.id}")
    assert "Olu Other" in page.text and staff_world.pupils[0].display_name not in page.text
    assert client.get(f"/staff/tracking/?group={staff_world.group.id}").status_code == 404
    login_as(client, staff_world.teacher)
    resp = client.get(f"/staff/tracking/export.csv?group={staff_world.group.id}&f.s:Maths=above")
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert [r["UPN"] for r in rows] == [staff_world.pupils[0].upn] and "Fragile learner: why" in rows[0]
    xlsx = client.get(f"/staff/tracking/export.xlsx?group={staff_world.group.id}")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    exports = db.session.query(AuditEvent).filter(AuditEvent.action == "exported").all()
    assert [e.detail["what"] for e in exports] == ["tracking list (CSV)", "tracking list (XLSX)"]
    printed = client.get(f"/staff/tracking/print?group={staff_world.group.id}")
    assert printed.status_code == 200 and "Back to the tracking list" in printed.text


def test_import_from_the_web_upload_preview_confirm(client, staff_world):
    from survey_app.models import AttainmentResult, PendingImport
    from tests.conftest import csrf_from

    login_as(client, staff_world.lead)
    school = staff_world.school
    form = client.get(f"/staff/tracking/import?school={school.id}&kind=attendance")
    assert form.status_code == 200
    bad = client.post("/staff/tracking/import", data={
        "csrf_token": csrf_from(form.text), "school": school.id, "kind": "attainment",
        "upload": (io.BytesIO(b"UPN,Subject\n"), "a.csv")}, content_type="multipart/form-data")
    assert bad.status_code == 400 and "no column" in bad.text
    text = (EXAMPLES / "attainment.csv").read_bytes() + b"X1,Maths,Autumn 2,2026-12-04,6,5,,GCSE\n"
    resp = client.post("/staff/tracking/import", data={
        "csrf_token": csrf_from(form.text), "school": school.id, "kind": "attainment",
        "upload": (io.BytesIO(text), "attainment.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    preview = client.get(resp.location)
    assert "8</span> to add" in preview.text and "Row numbers" in preview.text and "not 13 characters" in preview.text
    assert db.session.query(AttainmentResult).count() == 0  # the preview wrote nothing
    token = resp.location.rsplit("/", 1)[1]
    # Someone else's token, or another school's lead, finds nothing.
    login_as(client, staff_world.other_lead)
    assert client.get(resp.location).status_code == 404
    login_as(client, staff_world.lead)
    preview = client.get(resp.location)
    no_csrf = client.post(f"/staff/tracking/import/{token}/confirm", data={})
    assert no_csrf.status_code == 400 and db.session.query(AttainmentResult).count() == 0
    done = client.post(f"/staff/tracking/import/{token}/confirm", data={
        "csrf_token": csrf_from(preview.text), "digest": _digest(preview.text)})
    assert done.status_code == 302 and db.session.query(AttainmentResult).count() == 8
    assert db.session.query(PendingImport).count() == 0


def _digest(html: str) -> str:
    import re

    return re.search(r'name="digest" type="hidden" value="([^"]+)"', html).group(1)


def test_a_lead_sets_the_schools_thresholds_and_a_bad_value_changes_nothing(client, staff_world):
    from survey_app.models import PatternThreshold
    from tests.conftest import csrf_from

    login_as(client, staff_world.lead)
    url = f"/staff/tracking/thresholds?school={staff_world.school.id}"
    page = client.get(url)
    assert page.status_code == 200 and "not national norms" in page.text
    bad = client.post(url, data={"csrf_token": csrf_from(page.text), "school": staff_world.school.id,
                                 "fragile_learner.low": "120"})
    assert bad.status_code == 400 and "must be a number from 0 to 100" in bad.text
    assert db.session.query(PatternThreshold).count() == 0
    ok = client.post(url, data={"csrf_token": csrf_from(page.text), "school": staff_world.school.id,
                                "fragile_learner.low": "40"})
    assert ok.status_code == 302
    assert [(t.school_id, t.pattern, t.name, t.value) for t in db.session.query(PatternThreshold)] == [
        (staff_world.school.id, "fragile_learner", "low", 40.0)]
    listed = client.get(f"/staff/tracking/?school={staff_world.school.id}").text
    assert "Test School&rsquo;s own choice" in listed and "below 40." in listed
    login_as(client, staff_world.other_lead)
    assert client.get(url).status_code == 404
    assert client.get(f"/staff/tracking/thresholds?partnership={staff_world.partnership.id}").status_code == 404
    login_as(client, staff_world.teacher)
    assert client.get(url).status_code == 403


def test_the_page_shows_the_list_a_page_at_a_time(client, staff_world, monkeypatch):
    from survey_app.tracking import routes

    monkeypatch.setattr(routes, "PAGE_SIZE", 2)
    login_as(client, staff_world.lead)
    url = f"/staff/tracking/?school={staff_world.school.id}&sort=name"
    first, second = client.get(url).text, client.get(url + "&page=2").text
    names = sorted(p.display_name for p in staff_world.pupils)
    assert "Rows 1 to 2 of 4" in first and names[0] in first and names[2] not in first
    assert "Rows 3 to 4 of 4" in second and names[2] in second and names[0] not in second
    printed = client.get(f"/staff/tracking/print?school={staff_world.school.id}").text
    assert all(n in printed for n in names)
