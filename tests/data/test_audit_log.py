"""The audit log: what is recorded, the admin's search page and CSV, and that nothing in
the app can change or delete an entry."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey_app.audit import log as audit_log
from survey_app.db import db
from survey_app.models import AuditEvent
from survey_app.schools.pupils import update_pupil
from tests.conftest import TEST_PASSWORD, csrf_from, login_as

ROOT = Path(__file__).resolve().parents[2]


def events(**where) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def sign_in(client, email, password):
    page = client.get("/staff/sign-in")
    return client.post("/staff/sign-in", data={"email": email, "password": password,
                                               "csrf_token": csrf_from(page.text)})


def test_sign_ins_refusals_and_sign_outs_are_recorded_without_passwords(client, staff_world):
    w = staff_world
    assert sign_in(client, "teacher@example.org", "Wrong-Secret-991").status_code == 400
    assert sign_in(client, "nobody@example.org", "Other-Secret-772").status_code == 400
    resp = sign_in(client, "teacher@example.org", TEST_PASSWORD)
    assert resp.status_code == 302
    home = client.get("/staff/")
    client.post("/staff/sign-out", data={"csrf_token": csrf_from(home.text)})

    log = [(e.action, e.staff_id, e.detail) for e in events()]
    assert [a for a, _, _ in log] == ["sign-in refused", "sign-in refused", "signed in", "signed out"]
    assert log[0][1] == w.teacher.id and log[0][2]["reason"] == "wrong password"
    assert log[1][1] is None and log[1][2] == {"reason": "no account has that email",
                                               "email": "nobody@example.org", "address": "127.0.0.1"}
    assert log[2][1] == w.teacher.id and log[2][2]["address"] == "127.0.0.1"
    assert log[3][1] == w.teacher.id
    stored = json.dumps([d for _, _, d in log])
    for secret in ("Wrong-Secret-991", "Other-Secret-772", TEST_PASSWORD):
        assert secret not in stored


def test_a_password_typed_in_the_email_box_is_not_kept(app, staff_world):
    audit_log.record_sign_in_refused(db.session, "MyPassword123", "no match", "10.0.0.1")
    db.session.commit()
    [event] = events()
    assert event.detail["email"] == "(not an email address)" and "MyPassword123" not in json.dumps(event.detail)


def test_changes_views_and_exports_are_recorded(client, staff_world):
    w = staff_world
    pupil = w.pupils[0]
    update_pupil(db.session, w.lead, pupil, {"first_name": "Renamed"})
    db.session.commit()
    [change] = events(action="pupil: edited")
    assert change.pupil_id == pupil.id and change.staff_id == w.lead.id
    # The audit entry names the field; the values stay in the change history only.
    assert change.detail == {"entity": "pupil", "entity_id": pupil.id, "fields": ["first_name"]}

    login_as(client, w.teacher)
    assert client.get(f"/staff/pupils/{pupil.id}/profile").status_code == 200
    assert [e.staff_id for e in events(action="viewed profile", pupil_id=pupil.id)] == [w.teacher.id]

    login_as(client, w.lead)
    assert client.get(f"/staff/rounds/{w.round.id}/codes.csv?group={w.group.id}").status_code == 200
    assert client.get(f"/staff/rounds/{w.round.id}/slips.pdf").status_code == 200
    exports = events(action="exported")
    assert [e.detail["what"] for e in exports] == ["access codes (CSV)", "access-code slips (PDF)"]
    assert exports[0].detail["group"] == w.group.id and exports[0].detail["codes"] == 5
    # An unknown pupil in the query string gives no link (and no error).
    assert client.get(f"/staff/rounds/{w.round.id}/codes.csv?pupil=999999").status_code == 200
    assert events(action="exported")[-1].pupil_id is None

    # Admin actions on staff accounts arrive through the change history.
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/staff/{w.teacher.id}")
    client.post(f"/staff/admin/staff/{w.teacher.id}/deactivate", data={"csrf_token": csrf_from(page.text)})
    [off] = events(action="staff: deactivated")
    assert off.staff_id == w.admin.id and off.detail["entity_id"] == w.teacher.id


def test_a_change_about_several_pupils_is_filed_under_each(app, staff_world):
    w = staff_world
    from survey_app.audit.changes import record_change

    record_change(db.session, w.lead, "group", w.group.id, "removed pupils",
                  {"pupil_ids": [w.pupils[0].id, w.pupils[1].id], "count": 2})
    db.session.commit()
    entries = events(action="group: removed pupils")
    assert sorted(e.pupil_id for e in entries) == sorted([w.pupils[0].id, w.pupils[1].id])
    # The other pupils' ids are not copied into the entry: only the names of the fields.
    assert all(e.detail == {"entity": "group", "entity_id": w.group.id, "fields": ["count"]}
               for e in entries)


def _seed(w, count=0):
    """Entries at known times: the teacher viewing pupil 0 on 10 Jan, the lead exporting on
    12 Jan, the admin signing in on 15 Jan; plus `count` sign-ins by the other lead on 20 Jan."""
    rows = [
        AuditEvent(at=datetime(2026, 1, 10, 9, 0, tzinfo=UTC), staff_id=w.teacher.id, action="viewed profile",
                   pupil_id=w.pupils[0].id, detail={}),
        AuditEvent(at=datetime(2026, 1, 12, 9, 0, tzinfo=UTC), staff_id=w.lead.id, action="exported",
                   detail={"what": "access codes (CSV)", "round": w.round.id}),
        AuditEvent(at=datetime(2026, 1, 15, 23, 30, tzinfo=UTC), staff_id=w.admin.id, action="signed in",
                   detail={"address": "127.0.0.1"}),
    ]
    rows += [AuditEvent(at=datetime(2026, 1, 20, 8, i % 60, tzinfo=UTC), staff_id=w.other_lead.id,
                        action="signed in", detail={"n": i}) for i in range(count)]
    db.session.add_all(rows)
    db.session.commit()


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_audit_page_searches_by_person_pupil_kind_and_dates(client, staff_world):
    w = staff_world
    _seed(w)
    login_as(client, w.admin)
    everything = client.get("/staff/admin/audit")
    assert everything.status_code == 200
    rows = _rows(everything.text)
    assert len(rows) == 3 and "Signed in" in rows[0] and "Viewed profile" in rows[2]  # newest first

    by_teacher = _rows(client.get("/staff/admin/audit?who=teacher@example.org").text)
    assert len(by_teacher) == 1 and "Pupil0 Tester" in by_teacher[0]
    by_name = _rows(client.get("/staff/admin/audit?who=Lead").text)  # "Lead" and "Otherlead"
    assert len(by_name) == 1 and "Exported access codes (CSV)" in by_name[0]

    upn = w.pupils[0].upn
    for query in (upn, upn.lower(), "pupil0 tester", "Tester Pupil0"):
        page = client.get("/staff/admin/audit", query_string={"pupil": query})
        assert len(_rows(page.text)) == 1, query
        assert "Entries about" in page.text and upn in page.text
    assert len(_rows(client.get(f"/staff/admin/audit?pupil_id={w.pupils[0].id}").text)) == 1
    none = client.get("/staff/admin/audit?pupil=Nobody+Atall")
    assert "No pupil matches" in none.text and not _rows(none.text)

    assert len(_rows(client.get("/staff/admin/audit?what=exports").text)) == 1
    assert len(_rows(client.get("/staff/admin/audit?what=sign-in").text)) == 1
    assert len(_rows(client.get("/staff/admin/audit?what=views").text)) == 1
    # Dates are London days: 23:30 UTC on 15 Jan is still 15 Jan in winter.
    assert len(_rows(client.get("/staff/admin/audit?since=2026-01-11&until=2026-01-15").text)) == 2
    assert len(_rows(client.get("/staff/admin/audit?until=2026-01-10").text)) == 1

    for bad in ("since=yesterday", "since=2026-01-15&until=2026-01-01", "what=everything", "page=0"):
        resp = client.get(f"/staff/admin/audit?{bad}")
        assert resp.status_code == 400 and "Please correct the search" in resp.text, bad


def test_audit_page_is_paginated(client, staff_world):
    w = staff_world
    _seed(w, count=60)
    login_as(client, w.admin)
    first = client.get("/staff/admin/audit")
    assert "Showing 1–50 of 63 entries" in first.text and len(_rows(first.text)) == 50
    second = client.get("/staff/admin/audit?page=2")
    assert "Showing 51–63 of 63 entries" in second.text and len(_rows(second.text)) == 13
    assert "Viewed profile" in _rows(second.text)[-1]  # the oldest is last
    assert client.get("/staff/admin/audit?page=9").status_code == 200  # past the end: the last page


def test_audit_csv_is_filtered_neutralised_and_itself_recorded(client, staff_world):
    w = staff_world
    w.lead.name = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    _seed(w, count=3)
    login_as(client, w.admin)
    resp = client.get("/staff/admin/audit.csv?who=lead@example.org")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "no-store" in resp.headers["Cache-Control"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["when", "staff member", "staff email", "what"]
    assert len(rows) == 2 and rows[1][1].startswith("'=") and rows[1][3] == "Exported access codes (CSV)"
    every = list(csv.reader(io.StringIO(client.get("/staff/admin/audit.csv").get_data(as_text=True))))
    # The header, 6 seeded entries, and both downloads (each is recorded before it is sent).
    assert len(every) == 1 + 6 + 2
    recorded = events(action="exported", staff_id=w.admin.id)
    assert [e.detail["what"] for e in recorded] == ["audit log (CSV)", "audit log (CSV)"]
    assert recorded[0].detail["filters"] == {"who": "lead@example.org"}


def test_audit_entries_cannot_be_changed_or_deleted_through_the_app(app, client, staff_world):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule
    login_as(client, staff_world.admin)
    token = csrf_from(client.get("/staff/admin/audit").text)
    for method in ("post", "put", "patch", "delete"):
        resp = getattr(client, method)("/staff/admin/audit", data={"csrf_token": token})
        assert resp.status_code == 405, method
    # No web code updates or deletes audit rows (erasure only unlinks a pupil's entries;
    # command-line tools such as restore are not reachable through the app).
    pattern = re.compile(r"(delete|update)\(\s*AuditEvent|AuditEvent\.__table__\.(delete|update)"
                         r"|(delete\s+from|update)\s+\"?audit_events", re.I)
    for path in (ROOT / "survey_app").rglob("*.py"):
        if path.name == "erasure.py" or path.name.endswith("commands.py") or "backup" in path.name:
            continue
        assert not pattern.search(path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize("who", ["lead", "teacher"])
def test_only_admins_see_the_audit_log(client, staff_world, who):
    w = staff_world
    _seed(w)
    login_as(client, getattr(w, who))
    for url in ("/staff/admin/audit", "/staff/admin/audit.csv", "/staff/admin/audit?who=admin@example.org"):
        assert client.get(url).status_code == 403, url
    assert not [e for e in events(action="exported") if e.detail["what"] == "audit log (CSV)"]


def test_anonymous_visitors_are_sent_to_sign_in(client, staff_world):
    resp = client.get("/staff/admin/audit")
    assert resp.status_code == 302 and "/staff/sign-in" in resp.location
