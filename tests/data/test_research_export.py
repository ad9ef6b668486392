"""The pseudonymised research export: per-response answers and scores, no identities."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from survey_app.data.research import pseudonym, pseudonym_key
from survey_app.db import db
from survey_app.models import AccessCode, AuditEvent, Pupil
from tests.conftest import csrf_from, login_as
from tests.profiles.test_profiles import answer_round, pupils_a, second_round


def download(client, round_id, rounds=None):
    url = f"/staff/rounds/{round_id}/research-export"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_from(page.text), "rounds": rounds or [round_id]})


def table(resp) -> list[dict]:
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def exports() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "exported")
                                   .order_by(AuditEvent.id)))


def test_export_holds_answers_and_scores_under_stable_pseudonyms_and_nothing_identifying(app, client, staff_world):
    w = staff_world
    pupils = pupils_a(w)
    answer_round(w, w.round, pupils, level=3)
    login_as(client, w.lead)
    page = client.get(f"/staff/rounds/{w.round.id}")
    assert f"/staff/rounds/{w.round.id}/research-export" in page.text
    info = client.get(f"/staff/rounds/{w.round.id}/research-export")
    assert "5 pupils have finished Before" in info.text and "Never included" in info.text

    resp = download(client, w.round.id)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "no-store" in resp.headers["Cache-Control"]
    rows = table(resp)
    assert len(rows) == 5
    header = list(rows[0])
    assert header[:11] == ["pupil", "round", "phase", "questionnaire", "school", "year_group", "gender", "sen",
                           "fsm", "eal", "finished_on"]
    assert [s.id for s in w.q.statements] == header[11:11 + len(w.q.statements)]
    assert "feelings_about_school_score" in header and "response_to_curriculum_band" in header
    key = pseudonym_key(app.config)
    assert sorted(r["pupil"] for r in rows) == sorted(pseudonym(key, p.id) for p in pupils)
    assert all(len(r["pupil"]) == 12 for r in rows)
    assert all(r["school"].startswith("S-") and len(r["school"]) == 10 for r in rows)
    assert "100001" not in resp.text and "Test School" not in resp.text
    first = next(r for r in rows if r["pupil"] == pseudonym(key, pupils[0].id))
    assert first["round"] == "Before" and first["year_group"] == "7" and first["fsm"] == "0"
    assert all(first[s.id] in {"1", "2", "3", "4"} for s in w.q.statements)
    assert 0 <= float(first["self_regard_score"]) <= 100 and first["self_regard_band"]
    text = resp.get_data(as_text=True)
    codes = db.session.scalars(sa.select(AccessCode.code)).all()
    for p in pupils:
        assert p.first_name not in text and p.upn not in text and "Tester" not in text
    assert not any(code in text for code in codes)
    # The same pupils get the same pseudonyms next time.
    assert sorted(r["pupil"] for r in table(download(client, w.round.id))) == sorted(r["pupil"] for r in rows)
    [first_export, _] = exports()
    assert first_export.staff_id == w.lead.id and first_export.detail["what"] == "research export (CSV)"
    assert first_export.detail["pupils"] == 5 and first_export.detail["rounds"] == [w.round.id]


def test_two_rounds_pair_up_by_pseudonym(client, staff_world):
    w = staff_world
    pupils = pupils_a(w)
    answer_round(w, w.round, pupils, level=2)
    during = second_round(w)
    answer_round(w, during, pupils[:3], level=3, seed=2)
    login_as(client, w.admin)
    rows = table(download(client, w.round.id, rounds=[w.round.id, during.id]))
    assert len(rows) == 8
    before = {r["pupil"] for r in rows if r["round"] == "Before"}
    after = {r["pupil"] for r in rows if r["round"] == "During"}
    assert len(before) == 5 and after < before


def test_two_rounds_download_from_the_page_as_a_server_sends_it(app, staff_world):
    """The file is streamed after the request's database session has been closed, as on a
    real server (no test's app context kept open around the request): rounds other than
    the page's own used to be read from that closed session, a 500 in mid-download."""
    import contextvars

    from flask.testing import FlaskClient

    w = staff_world
    pupils = pupils_a(w)
    answer_round(w, w.round, pupils, level=2)
    during = second_round(w)
    answer_round(w, during, pupils[:3], level=3, seed=2)
    ids = [w.round.id, during.id]
    client = FlaskClient(app, app.response_class, use_cookies=True)  # each request its own context
    login_as(client, w.lead)

    def download_both():
        resp = download(client, ids[0], rounds=ids)
        return resp.status_code, resp.get_data(as_text=True)

    status, text = contextvars.Context().run(download_both)  # nothing of this test's context
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 8 and {r["round"] for r in rows} == {"Before", "During"}
    assert {r["questionnaire"] for r in rows} == {"pass9-secondary v1.1.0"}


def test_too_few_pupils_is_refused_plainly(app, client, staff_world):
    w = staff_world
    answer_round(w, w.round, pupils_a(w)[:4], level=3)
    login_as(client, w.lead)
    resp = download(client, w.round.id)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert "would hold 4 pupils" in resp.text and "at least 5 pupils" in resp.text
    assert not exports()
    app.config["SUPPRESSION_THRESHOLD"] = 4
    assert download(client, w.round.id).status_code == 200


def test_partnership_leads_leave_out_pupils_not_shared(app, client, staff_world):
    w = staff_world
    pupils = pupils_a(w)
    answer_round(w, w.round, pupils, level=3)
    w.pupil2.shared_with_partnership = False
    db.session.commit()
    app.config["SUPPRESSION_THRESHOLD"] = 3
    login_as(client, w.lead)
    lead_rows = table(download(client, w.round.id))
    login_as(client, w.admin)
    admin_rows = table(download(client, w.round.id))
    key = pseudonym_key(app.config)
    assert len(lead_rows) == 4 and len(admin_rows) == 5
    assert pseudonym(key, w.pupil2.id) not in {r["pupil"] for r in lead_rows}


def test_who_may_export(client, staff_world):
    w = staff_world
    url = f"/staff/rounds/{w.round.id}/research-export"
    login_as(client, w.teacher)
    assert client.get(url).status_code == 403
    assert "/research-export" not in client.get(f"/staff/rounds/{w.round.id}").text
    login_as(client, w.other_lead)
    assert client.get(url).status_code == 404
    token = csrf_from(client.get("/staff/").text)
    assert client.post(url, data={"csrf_token": token, "rounds": [w.round.id]}).status_code == 404
    # A round outside the lead's scope cannot be slipped into the choice either.
    login_as(client, w.lead)
    page = client.get(url)
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "rounds": [w.round.id, w.round_b.id]})
    assert resp.status_code == 400 and "Choose rounds from the list" in resp.text
    assert not exports()


def test_command_writes_the_same_export(app, runner, staff_world, tmp_path):
    w = staff_world
    answer_round(w, w.round, pupils_a(w), level=3)
    out = tmp_path / "research.csv"
    result = runner.invoke(args=["research-export", "--round", str(w.round.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 5 responses of 5 pupils" in result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    key = pseudonym_key(app.config)
    assert sorted(r["pupil"] for r in rows) == sorted(pseudonym(key, p.id) for p in pupils_a(w))
    [event] = exports()
    assert event.staff_id is None and event.detail["via"] == "command line"

    missing = runner.invoke(args=["research-export", "--round", "9999", "--out", str(out)])
    assert missing.exit_code == 1 and "No round has id 9999" in missing.output
    few = runner.invoke(args=["research-export", "--round", str(w.round_b.id), "--out", str(tmp_path / "b.csv")])
    assert few.exit_code == 1 and "would hold 0 pupils" in few.output
    assert not (tmp_path / "b.csv").exists()


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+SUM(A1)"])
def test_gender_text_cannot_become_a_formula(app, client, staff_world, name):
    w = staff_world
    pupils = pupils_a(w)
    answer_round(w, w.round, pupils, level=3)
    db.session.execute(sa.update(Pupil).where(Pupil.id == pupils[0].id).values(gender=name))
    db.session.commit()
    login_as(client, w.lead)
    rows = table(download(client, w.round.id))
    assert {r["gender"] for r in rows} >= {"'" + name}
