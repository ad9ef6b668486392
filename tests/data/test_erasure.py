"""Subject access (everything held about a pupil, as a page and as JSON) and erasure
(everything gone, the audit log kept without the pupil)."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey_app.audit.changes import record_change
from survey_app.data.erasure import erase_pupil
from survey_app.db import db
from survey_app.models import (
    AccessCode,
    Answer,
    AuditEvent,
    ChangeLog,
    FactorScore,
    Pupil,
    PupilFlag,
    Response,
    RoundFactorStats,
    SupportEntry,
    group_members,
    pupil_flag_members,
)
from survey_app.models.base import utcnow
from survey_app.profiles.operations import add_entry
from survey_app.profiles.queries import record_view
from survey_app.pupil.codes import format_code
from survey_app.rounds.statistics import compute_round_stats
from tests.conftest import csrf_from, login_as
from tests.profiles.test_profiles import answer_round, pupils_a

ROOT = Path(__file__).resolve().parents[2]
NOTE = "Finds lunchtimes hard; meets the mentor on Mondays."


def build_history(w):
    """Give pupil 0 (and the rest of group A) answers, scores, a note, a flag, history and
    audit entries, and the round cached statistics."""
    pupil = w.pupils[0]
    answer_round(w, w.round, pupils_a(w), level=2.5)
    add_entry(db.session, pupil, w.teacher, "note", None, NOTE, date(2026, 10, 1), None, utcnow())
    flag = PupilFlag(name="Mentored", school_id=w.school.id)
    db.session.add(flag)
    db.session.flush()
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": flag.id, "pupil_id": pupil.id},
                                                     {"flag_id": flag.id, "pupil_id": w.pupils[1].id}])
    record_change(db.session, w.lead, "pupil", pupil.id, "edited", {"surname": ["Tester", "Tester"]})
    record_change(db.session, w.lead, "group", w.group.id, "added pupils",
                  {"pupil_ids": [pupil.id, w.pupils[1].id], "count": 2})
    record_change(db.session, w.lead, "round", w.round.id, "code reissued", {"pupil_id": pupil.id})
    record_change(db.session, w.lead, "school", w.school.id, "imported pupils", {
        "filename": "roster.csv", "refused_rows": [[4, pupil.upn, "year group missing"], [5, "X123", "bad UPN"]]})
    record_view(db.session, w.teacher.id, pupil.id, "viewed profile", utcnow())
    compute_round_stats(db.session, w.round, utcnow())
    db.session.commit()
    return pupil


def count(stmt) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def every_row_as_text() -> str:
    """The whole database as text, to prove a name or UPN is nowhere in it."""
    parts = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            parts += [repr(tuple(row)) for row in conn.execute(sa.select(table))]
    return "\n".join(parts)


def test_erase_pupil_removes_everything_and_keeps_the_audit_without_the_pupil(app, staff_world):
    w = staff_world
    pupil = build_history(w)
    pid, upn, other = pupil.id, pupil.upn, w.pupils[1]
    responses = list(db.session.scalars(sa.select(Response.id).where(Response.pupil_id == pid)))
    assert responses and count(sa.select(RoundFactorStats).where(RoundFactorStats.round_id == w.round.id))
    audit_before = count(sa.select(AuditEvent).where(AuditEvent.pupil_id == pid))
    assert audit_before >= 4  # the view, and the mirrored note, edit, membership and code entries
    assert upn in every_row_as_text() and "Pupil0" in every_row_as_text()

    counts = erase_pupil(db.session, w.admin, pupil)
    db.session.commit()

    assert counts["responses"] == 1 and counts["answers"] == len(w.q.statements)
    assert counts["factor_scores"] == 9 and counts["support_entries"] == 1 and counts["access_codes"] == 1
    assert counts["group_memberships"] == 1 and counts["flags"] == 1
    assert counts["audit_entries_unlinked"] == audit_before and counts["round_statistics_dropped"] == 9
    assert db.session.get(Pupil, pid) is None
    for stmt in (sa.select(Response).where(Response.pupil_id == pid),
                 sa.select(Answer).where(Answer.response_id.in_(responses)),
                 sa.select(FactorScore).where(FactorScore.response_id.in_(responses)),
                 sa.select(AccessCode).where(AccessCode.pupil_id == pid),
                 sa.select(SupportEntry).where(SupportEntry.pupil_id == pid),
                 sa.select(group_members).where(group_members.c.pupil_id == pid),
                 sa.select(pupil_flag_members).where(pupil_flag_members.c.pupil_id == pid),
                 sa.select(AuditEvent).where(AuditEvent.pupil_id == pid),
                 sa.select(RoundFactorStats).where(RoundFactorStats.round_id == w.round.id)):
        assert count(stmt) == 0, stmt
    # Nothing anywhere names the pupil any more; the note is gone too.
    text = every_row_as_text()
    assert upn not in text and "Pupil0" not in text and NOTE not in text
    # Entries about several pupils lose only this one; the import summary keeps the other row.
    group_entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.action == "added pupils"))
    assert group_entry.changes["pupil_ids"] == [other.id]
    summary = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.action == "imported pupils"))
    assert summary.changes["refused_rows"] == [[5, "X123", "bad UPN"]]
    assert count(sa.select(ChangeLog).where(ChangeLog.action == "code reissued")) == 0
    # The audit keeps who looked, without the pupil; and that an erasure happened, by whom.
    kept = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "viewed profile")))
    assert len(kept) == 1 and kept[0].pupil_id is None and kept[0].staff_id == w.teacher.id
    assert kept[0].detail == {"pupil": "erased"}
    [erased] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pupil erased")).all()
    assert erased.staff_id == w.admin.id and erased.pupil_id is None
    assert erased.detail == {"by": "administrator on request"}
    # The other pupils keep everything.
    assert count(sa.select(Response).where(Response.pupil_id == other.id)) == 1
    assert count(sa.select(pupil_flag_members).where(pupil_flag_members.c.pupil_id == other.id)) == 1


def test_erasing_a_pupil_with_almost_nothing(app, staff_world):
    w = staff_world
    counts = erase_pupil(db.session, None, w.other_pupil, by="retention job")
    db.session.commit()
    assert counts["access_codes"] == 1 and counts["responses"] == 0 and counts["round_statistics_dropped"] == 0
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "pupil erased"))
    assert event.staff_id is None and event.detail == {"by": "retention job"}


def test_erase_page_asks_for_the_upn_and_changes_nothing_until_it_matches(client, staff_world):
    w = staff_world
    pupil = build_history(w)
    pid, upn, school_id = pupil.id, pupil.upn, pupil.school_id
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/pupils/{pid}/erase")
    assert page.status_code == 200 and "cannot be undone" in page.text and upn in page.text
    assert f"1 survey response with {len(w.q.statements)} answers" in page.text
    for typed in ("", "A" * 13, w.pupils[1].upn):
        resp = client.post(f"/staff/admin/pupils/{pid}/erase", data={"csrf_token": csrf_from(page.text), "upn": typed})
        assert resp.status_code == 400 and "Nothing was erased" in resp.text
        assert db.session.get(Pupil, pid) is not None
    resp = client.post(f"/staff/admin/pupils/{pid}/erase",
                       data={"csrf_token": csrf_from(page.text), "upn": f" {upn.lower()} "})
    assert resp.status_code == 302 and resp.location.endswith(f"/staff/schools/{school_id}/pupils?status=all")
    db.session.expire_all()
    assert db.session.get(Pupil, pid) is None
    assert "The pupil has been erased" in client.get(resp.location).text
    assert client.get(f"/staff/admin/pupils/{pid}/subject-access").status_code == 404


def test_subject_access_page_and_json_hold_everything_but_the_codes(client, staff_world):
    w = staff_world
    pupil = build_history(w)
    code = w.code_of(0)
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/pupils/{pupil.id}/subject-access")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    text = page.text
    for expected in ("Everything held about Pupil0 Tester", pupil.upn, "Test School", "Group A", "Mentored",
                     NOTE, w.q.statements[0].text, "Feelings about school", "Used", "code reissued",
                     "this pupil and 1 other", "Viewed profile", "year group missing"):
        assert expected in text, expected
    assert code not in text and format_code(code) not in text and "X123" not in text

    resp = client.get(f"/staff/admin/pupils/{pupil.id}/subject-access.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.get_data(as_text=True))
    assert data["pupil"]["upn"] == pupil.upn and data["school"]["urn"] == "100001"
    assert [g["name"] for g in data["groups"]] == ["Group A"] and data["flags"][0]["name"] == "Mentored"
    assert data["access_codes"][0]["state"] == "used" and "code" not in data["access_codes"][0]
    [response] = data["responses"]
    assert len(response["answers"]) == len(w.q.statements) and len(response["factor_scores"]) == 9
    assert {"statement_id", "statement", "value", "answer", "answered_at"} <= set(response["answers"][0])
    assert data["support"][0]["text"] == NOTE
    assert {h["action"] for h in data["change_history"]} >= {"edited", "added pupils", "code reissued", "added"}
    assert any(a["action"] == "Viewed profile" for a in data["audit_entries"])
    assert code not in resp.get_data(as_text=True)
    # Both were recorded as exports about the pupil.
    exported = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "exported", AuditEvent.pupil_id == pupil.id)).all()
    assert [e.detail["format"] for e in exported] == ["HTML", "JSON"]


@pytest.mark.parametrize("who", ["lead", "teacher"])
def test_only_admins_may_see_subject_access_or_erase(client, staff_world, who):
    w = staff_world
    pupil = w.pupils[0]
    login_as(client, getattr(w, who))
    for url in (f"/staff/admin/pupils/{pupil.id}/subject-access", f"/staff/admin/pupils/{pupil.id}/subject-access.json",
                f"/staff/admin/pupils/{pupil.id}/erase"):
        assert client.get(url).status_code == 403, url
    token = csrf_from(client.get("/staff/").text)
    resp = client.post(f"/staff/admin/pupils/{pupil.id}/erase", data={"csrf_token": token, "upn": pupil.upn})
    assert resp.status_code == 403
    assert db.session.get(Pupil, pupil.id) is not None


def test_pupil_page_links_admins_to_subject_access(client, staff_world):
    w = staff_world
    url = f"/staff/schools/pupils/{w.pupils[0].id}"
    link = f"/staff/admin/pupils/{w.pupils[0].id}/subject-access"
    login_as(client, w.admin)
    assert link in client.get(url).text
    login_as(client, w.lead)
    page = client.get(url)
    assert page.status_code == 200 and link not in page.text


def _migration_0005():
    path = ROOT / "migrations" / "versions" / "0005_audit_events_append_only.py"
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_postgresql_refuses_edits_of_the_audit_log_but_not_erasure(app, backend, staff_world):
    if backend != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    w = staff_world
    pupil = build_history(w)
    migration = _migration_0005()
    with db.engine.begin() as conn:
        for statement in migration.UPGRADE_SQL:
            conn.execute(sa.text(statement))
    try:
        for statement in ("UPDATE audit_events SET action = 'nothing happened'",
                          "UPDATE audit_events SET staff_id = :other WHERE staff_id IS NOT NULL",
                          "UPDATE audit_events SET detail = '{}' WHERE pupil_id IS NULL",
                          "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DBAPIError, match="audit entries cannot be"), db.engine.begin() as conn:
                conn.execute(sa.text(statement), {"other": w.admin.id})
        pid = pupil.id
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        counts = erase_pupil(db.session, w.admin, pupil)
        db.session.commit()
        after = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        assert after == before + 1 and counts["audit_entries_unlinked"] >= 4
        assert not db.session.scalars(sa.select(AuditEvent).where(AuditEvent.pupil_id == pid)).all()
        unlinked = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.detail["pupil"].as_string() == "erased"))
        assert len(unlinked.all()) == counts["audit_entries_unlinked"]
    finally:
        db.session.rollback()
        with db.engine.begin() as conn:
            for statement in migration.DOWNGRADE_SQL:
                conn.execute(sa.text(statement))
