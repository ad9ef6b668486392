"""Live completion: the page, its JSON, who may see them, and a pupil's progress showing up."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from, login_as, sign_in_pupil


def completion(client, world, suffix="", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/staff/rounds/{world.round.id}/completion{suffix}" + (f"?{query}" if query else ""))


def pupil_row(data, pupil_id):
    return next(p for g in data["groups"] for p in g["pupils"] if p["id"] == pupil_id)


def test_status_follows_a_pupil_answering_online(app, client, staff_world):
    w = staff_world
    login_as(client, w.teacher)
    data = completion(client, w, ".json").json
    assert data["counts"] == {"finished": 0, "in progress": 0, "not started": 5, "total": 5}
    assert [g["name"] for g in data["groups"]] == ["Group A"]
    first = pupil_row(data, w.pupils[0].id)
    assert first == {**first, "name": "Pupil0 Tester", "status": "not started", "answered": 0, "total": 50}

    pupil = app.test_client()
    page = sign_in_pupil(pupil, w.code_of(0))
    data = completion(client, w, ".json").json
    assert pupil_row(data, w.pupils[0].id)["status"] == "in progress"
    assert data["counts"]["in progress"] == 1 and data["summary"].startswith("0 finished, 1 in progress")

    token = csrf_from(page.text)
    pupil.post("/survey/p/1", data={"csrf_token": token, "q1": "4", "q2": "3", "q3": "1", "nav": "next"})
    row = pupil_row(completion(client, w, ".json").json, w.pupils[0].id)
    assert (row["status"], row["answered"]) == ("in progress", 3) and row["last_activity"]
    html = completion(client, w).text
    assert f'data-pupil="{w.pupils[0].id}" data-status="in-progress"' in html
    assert re.search(r'data-field="answered">3</span> of 50', html)

    check = pupil.get("/survey/check")
    assert pupil.post("/survey/finish", data={"csrf_token": csrf_from(check.text)}).status_code == 302
    data = completion(client, w, ".json").json
    assert pupil_row(data, w.pupils[0].id)["status"] == "finished"
    assert data["counts"] == {"finished": 1, "in progress": 0, "not started": 4, "total": 5}
    assert data["groups"][0]["counts"]["finished"] == 1


def test_page_shows_each_status_in_words_and_works_without_javascript(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    resp = completion(client, w)
    assert resp.status_code == 200
    html = resp.text
    assert "Completion: Before" in html and "Group A" in html and "Sam Second" in html
    assert 'class="status-text">Not started<' in html
    assert 'id="refresh-link"' in html and f'href="/staff/rounds/{w.round.id}/completion"' in html
    assert f"/staff/rounds/{w.round.id}/pupils/{w.pupils[0].id}/paper" in html
    assert 'role="status" aria-live="polite"' in html and '<th scope="col">Status</th>' in html
    # Leads see the import; no inline script or style (the CSP forbids both).
    assert "Import paper answers" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [] and " style=" not in html
    assert 'src="/static/js/completion.js"' in html
    assert "no-store" in resp.headers["Cache-Control"]


def test_json_is_never_cached_and_lists_pupils(client, staff_world):
    w = staff_world
    login_as(client, w.admin)
    resp = completion(client, w, ".json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "no-store" in resp.headers["Cache-Control"]
    pupils = resp.json["groups"][0]["pupils"]
    assert len(pupils) == 5 and set(pupils[0]) >= {"id", "name", "status", "answered", "total"}


def test_teachers_do_not_see_the_import_links(client, staff_world):
    login_as(client, staff_world.teacher)
    html = completion(client, staff_world).text
    assert "Import paper answers" not in html and "Paper answers" in html


@pytest.mark.parametrize("suffix", ["", ".json"])
def test_scope_anonymous_and_other_schools(client, staff_world, suffix):
    w = staff_world
    resp = completion(client, w, suffix)
    assert resp.status_code == 302 and "/staff/sign-in" in resp.location
    for user in (w.teacher_b, w.other_lead):
        login_as(client, user)
        assert completion(client, w, suffix).status_code == 404
    login_as(client, w.teacher_b)
    assert client.get(f"/staff/rounds/{w.round_b.id}/completion{suffix}").status_code == 200
    assert client.get(f"/staff/rounds/999999/completion{suffix}").status_code == 404


def test_group_filter(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    assert completion(client, w, ".json", group=w.group.id).json["groups"][0]["id"] == w.group.id
    assert completion(client, w, group=w.group.id).status_code == 200
    for bad in (w.group_b.id, "x", 999999):
        assert completion(client, w, group=bad).status_code == 404
        assert completion(client, w, ".json", group=bad).status_code == 404
