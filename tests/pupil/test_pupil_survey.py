"""The pupil's survey through HTTP, on SQLite and PostgreSQL: sign in, save, resume, finish."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AccessCode, Answer, FactorScore, Response
from survey_app.models.base import utcnow
from tests.conftest import csrf_from, sign_in_pupil


def answers_in_db() -> dict[str, int]:
    return dict(db.session.execute(sa.select(Answer.item, Answer.value)).all())


def page_info(html: str) -> tuple[int, str]:
    response_id = int(re.search(r'data-response="(\d+)"', html).group(1))
    return response_id, csrf_from(html)


def autosave(client, response_id, token, answers, **kw):
    return client.post(
        "/survey/api/answers",
        json={"response": response_id, "answers": answers},
        headers={"X-CSRFToken": token, **kw.pop("headers", {})},
        **kw,
    )


# ----- signing in ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["{}", "{lower}", "{a}-{b}", " {a} {b} ", "{a_lower}-{b}"])
def test_code_accepted_in_any_case_with_spaces_or_dashes(client, world, shape):
    code = world.code_of(0)
    typed = shape.format(code, lower=code.lower(), a=code[:4], b=code[4:], a_lower=code[:4].lower())
    page = client.get("/")
    resp = client.post("/", data={"code": typed, "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302 and resp.location.endswith("/confirm")
    confirm = client.get("/confirm")
    assert "Is this you?" in confirm.text
    assert "Pupil0" in confirm.text and "Year 7" in confirm.text
    assert "Tester" not in confirm.text  # first name and year only


def test_not_me_signs_out_without_starting(client, world):
    page = client.get("/")
    client.post("/", data={"code": world.code_of(1), "csrf_token": csrf_from(page.text)})
    confirm = client.get("/confirm")
    resp = client.post("/confirm", data={"no": "No", "csrf_token": csrf_from(confirm.text)})
    assert resp.location.endswith("/")
    assert client.get("/survey").location.endswith("/")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0


@pytest.mark.parametrize("typed", ["ZZZZZZZZ", "abc", "", "0OIL1234", "x" * 41])
def test_unknown_or_malformed_code_is_refused_plainly(client, world, typed):
    page = client.get("/")
    resp = client.post("/", data={"code": typed, "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 400
    assert any(w in resp.text for w in ("Check each letter", "Type the code", "like ABCD-EFGH"))
    assert "Pupil0" not in resp.text


def _code_refusal(client, code: str) -> tuple[int, str]:
    page = client.get("/")
    resp = client.post("/", data={"code": code, "csrf_token": csrf_from(page.text)})
    found = re.search(r'<p class="error" id="code-error"[^>]*>(.*?)</p>', resp.text, re.S)
    return resp.status_code, found.group(1).strip() if found else resp.text


def test_every_refused_code_gets_the_same_message(client, world):
    """A wrong code, a finished one, the old code of a reissued slip and the code of a
    closed or not-yet-open survey all read alike: trying codes tells nobody which exist."""
    from survey_app.rounds.slips import reissue_code

    now = utcnow()
    said = {"wrong": _code_refusal(client, "ZZZZ-ZZZZ")}
    old = world.code_of(1)
    reissue_code(db.session, None, db.session.scalar(sa.select(AccessCode).where(AccessCode.code == old)), now)
    db.session.commit()
    said["reissued"] = _code_refusal(client, old)
    survey = sign_in_pupil(client, world.code_of(0))
    client.post("/survey/finish", data={"csrf_token": csrf_from(survey.text)})
    said["finished"] = _code_refusal(client, world.code_of(0))
    world.round.closes_at = now - timedelta(minutes=1)
    db.session.commit()
    said["closed"] = _code_refusal(client, world.code_of(2))
    world.round.opens_at, world.round.closes_at = now + timedelta(days=2), now + timedelta(days=9)
    db.session.commit()
    said["not open"] = _code_refusal(client, world.code_of(2))
    assert set(said.values()) == {(400, "That code does not open a survey just now. Check each letter and "
                                        "number on your slip, or ask your teacher for help.")}, said


def test_failed_codes_are_rate_limited_but_good_ones_are_not(client, world):
    for _ in range(12):  # more good sign-ins than the failure limit allows
        token = csrf_from(client.get("/").text)  # signing in starts a fresh session
        assert client.post("/", data={"code": world.code_of(0), "csrf_token": token}).status_code == 302
    token = csrf_from(client.get("/").text)
    statuses = [
        client.post("/", data={"code": "ZZZZ-ZZZZ", "csrf_token": token}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
    blocked = client.post("/", data={"code": world.code_of(0), "csrf_token": token})
    assert blocked.status_code == 429 and "Too many tries" in blocked.text


# ----- answering ----------------------------------------------------------------------


def test_autosave_is_idempotent_and_keeps_the_newest_answer(client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    assert autosave(client, rid, token, [{"item": "s01", "value": 4, "seq": 100}]).status_code == 200
    assert autosave(client, rid, token, [{"item": "s01", "value": 4, "seq": 100}]).status_code == 200
    assert answers_in_db() == {"s01": 4}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 1
    autosave(client, rid, token, [{"item": "s01", "value": 2, "seq": 200}])
    assert answers_in_db() == {"s01": 2}
    # A retried older request arrives late: the newer answer stays.
    resp = autosave(client, rid, token, [{"item": "s01", "value": 3, "seq": 150}])
    assert resp.status_code == 200
    db.session.expire_all()
    assert answers_in_db() == {"s01": 2}
    # One batch naming a statement twice: the larger sequence number wins.
    autosave(client, rid, token, [{"item": "s02", "value": 1, "seq": 300},
                                  {"item": "s02", "value": 4, "seq": 301}])
    assert answers_in_db()["s02"] == 4


@pytest.mark.parametrize(
    "answers, status, words",
    [
        ([{"item": "s01", "value": 5, "seq": 1}], 400, "not one of the choices"),
        ([{"item": "s01", "value": 0, "seq": 1}], 400, "not one of the choices"),
        ([{"item": "s01", "value": "4", "seq": 1}], 400, "not one of the choices"),
        ([{"item": "s01", "value": True, "seq": 1}], 400, "not one of the choices"),
        ([{"item": "zz99", "value": 4, "seq": 1}], 400, "not part of this survey"),
        ([{"item": "s01", "value": 4, "seq": -5}], 400, "order number"),
        ([], 400, "No answers"),
        ("not a list", 400, "No answers"),
        ([{"item": "s02", "value": 3, "seq": 1}, {"item": "nope", "value": 3, "seq": 1}], 400,
         "not part of this survey"),
    ],
)
def test_bad_autosaves_are_refused_and_change_nothing(client, world, answers, status, words):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    autosave(client, rid, token, [{"item": "s01", "value": 1, "seq": 10}])
    resp = autosave(client, rid, token, answers)
    assert resp.status_code == status
    assert words in resp.json["message"]
    db.session.expire_all()
    assert answers_in_db() == {"s01": 1}


def test_autosave_refuses_other_responses_missing_csrf_and_big_bodies(client, world, app):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    one = [{"item": "s01", "value": 4, "seq": 1}]
    assert autosave(client, rid + 1000, token, one).status_code == 403
    assert client.post("/survey/api/answers", json={"response": rid, "answers": one}).status_code == 400
    big = [{"item": "s01", "value": 4, "seq": 1, "pad": "x" * 70000}]
    assert autosave(client, rid, token, big).status_code == 413
    assert client.post("/survey/api/answers", data="{not json", headers={
        "X-CSRFToken": token, "Content-Type": "application/json"}).status_code == 400
    assert answers_in_db() == {}
    # Signed out: the API answers 401 so the page keeps its answers.
    fresh = app.test_client()
    fresh.get("/")
    assert autosave(fresh, rid, token, one).status_code in (400, 401)


def test_plain_form_posts_work_without_javascript(client, world):
    html = sign_in_pupil(client, world.code_of(0)).text
    token = csrf_from(html)
    resp = client.post("/survey/p/1", data={"csrf_token": token, "q1": "4", "q2": "1", "nav": "next"})
    assert resp.status_code == 302 and resp.location.endswith("/survey/p/2")
    assert answers_in_db() == {"s01": 4, "s02": 1}
    page2 = client.get("/survey/p/2")
    assert 'id="st-s11"' in page2.text
    # Back keeps what was chosen and shows it checked.
    resp = client.post("/survey/p/2", data={"csrf_token": token, "q11": "3", "nav": "back"})
    assert resp.location.endswith("/survey/p/1")
    page1 = client.get("/survey/p/1").text
    assert re.search(r'id="q1-4" value="4"\s+checked', page1)
    assert answers_in_db()["s11"] == 3


@pytest.mark.parametrize(
    "data, words",
    [
        ({"q1": "9"}, "not one of the choices"),
        ({"q1": "yes"}, "not one of the choices"),
        ({"q999": "4"}, "not part of this survey"),
        ({"evil": "1"}, "not part of this survey"),
        ({"q1": "4", "nav": "explode"}, "not part of this survey"),
    ],
)
def test_bad_form_posts_are_refused_and_change_nothing(client, world, data, words):
    token = csrf_from(sign_in_pupil(client, world.code_of(0)).text)
    resp = client.post("/survey/p/1", data={"csrf_token": token, **data})
    assert resp.status_code == 400 and words in resp.text
    assert "Traceback" not in resp.text
    assert answers_in_db() == {}


def test_form_post_without_csrf_is_refused(client, world):
    sign_in_pupil(client, world.code_of(0))
    resp = client.post("/survey/p/1", data={"q1": "4", "nav": "next"})
    assert resp.status_code == 400 and answers_in_db() == {}


def test_single_mode_and_switching(client, world):
    html = sign_in_pupil(client, world.code_of(0)).text
    token = csrf_from(html)
    resp = client.post("/survey/mode", data={"csrf_token": token, "mode": "single", "at": "3"})
    assert resp.location.endswith("/survey/s/3")
    page = client.get("/survey/s/3").text
    assert "Statement 3 of 50" in page and "mode-single" in page
    assert client.post("/survey/mode", data={"csrf_token": token, "mode": "grid"}).status_code == 400
    assert client.get("/survey/s/51").status_code == 404
    assert client.get("/survey/p/0").status_code == 404


def test_resume_on_another_computer_at_first_unanswered(app, client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    autosave(client, rid, token, [{"item": s.id, "value": 3, "seq": i + 1}
                                  for i, s in enumerate(world.q.statements[:12])])
    other = app.test_client()
    page = sign_in_pupil(other, world.code_of(0))
    assert page.request.path == "/survey/p/2"
    assert re.search(r'id="q12-3" value="3"\s+checked', other.get("/survey/p/2").text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1


def test_check_lists_unanswered_then_finish_stores_scores(client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    statements = world.q.statements
    autosave(client, rid, token, [{"item": s.id, "value": 4, "seq": 1} for s in statements[:-2]])
    check = client.get("/survey/check")
    assert "2 statements have no answer yet" in check.text
    assert statements[-1].text in check.text and statements[0].text not in check.text
    resp = client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)})
    assert resp.location.endswith("/thanks")
    thanks = client.get("/thanks")
    assert "Thank you" in thanks.text
    response = db.session.scalars(sa.select(Response)).one()
    assert response.finished_at is not None
    scores = db.session.scalars(sa.select(FactorScore)).all()
    assert len(scores) == 9 and all(s.score is not None for s in scores)
    assert client.get("/survey").location.endswith("/")  # signed out after finishing


def test_answers_after_finish_or_close_are_refused_and_kept(app, client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    autosave(client, rid, token, [{"item": "s01", "value": 4, "seq": 1}])
    # The round closes while the pupil is answering.
    world.round.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    resp = autosave(client, rid, token, [{"item": "s02", "value": 4, "seq": 2}])
    assert resp.status_code == 409 and "closed" in resp.json["message"]
    assert answers_in_db() == {"s01": 4}
    # Reopened, finished in one browser while a second still has the page open.
    world.round.closes_at = utcnow() + timedelta(days=1)
    db.session.commit()
    second = app.test_client()
    rid2, token2 = page_info(sign_in_pupil(second, world.code_of(0)).text)
    check = client.get("/survey/check")
    client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)})
    resp = autosave(second, rid2, token2, [{"item": "s03", "value": 4, "seq": 3}])
    assert resp.status_code == 409 and "already finished" in resp.json["message"]
    assert answers_in_db() == {"s01": 4}


def test_autosave_writes_one_statement_and_counts_time_after_a_pause(client, world):
    """An autosave is one guarded upsert (no read, no write of the response); after a
    pause the answers and the time spent are written together."""
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lstrip().split()[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert autosave(client, rid, token, [{"item": "s01", "value": 4, "seq": 1}]).status_code == 200
        quick = list(statements)
        db.session.get(Response, rid).last_activity_at = utcnow() - timedelta(seconds=40)
        db.session.commit()
        with client.session_transaction() as held:
            held["pupil"] = {**held["pupil"], "touched": held["pupil"]["touched"] - 40}
        statements.clear()
        assert autosave(client, rid, token, [{"item": "s02", "value": 3, "seq": 2}]).status_code == 200
        after_pause = list(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert quick == ["INSERT"]
    assert "UPDATE" in after_pause
    db.session.expire_all()
    assert 39 <= db.session.get(Response, rid).seconds_spent <= 41
    assert answers_in_db() == {"s01": 4, "s02": 3}


def test_autosave_from_a_session_signed_in_before_the_version_was_kept(client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    with client.session_transaction() as held:
        held["pupil"] = {k: v for k, v in held["pupil"].items() if k != "version"}
    assert autosave(client, rid, token, [{"item": "s01", "value": 2, "seq": 1}]).status_code == 200
    with client.session_transaction() as held:
        assert held["pupil"]["version"][0] == world.version.id
    assert autosave(client, rid, token, [{"item": "s02", "value": 3, "seq": 2}]).status_code == 200
    assert answers_in_db() == {"s01": 2, "s02": 3}


def test_autosave_after_the_response_was_erased_asks_to_sign_in_again(client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    db.session.execute(sa.delete(Response).where(Response.id == rid))
    db.session.commit()
    resp = autosave(client, rid, token, [{"item": "s01", "value": 2, "seq": 1}])
    assert resp.status_code == 401 and "Sign in again" in resp.json["message"]
    assert answers_in_db() == {}


def test_reissuing_a_code_ends_the_session_opened_with_the_old_one(app, client, world):
    """A lost slip is reissued: whoever holds the old code is signed out at their next
    request (autosave, page, form post, 'Is this you?'), and the new code carries on."""
    from survey_app.rounds.slips import reissue_code

    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    assert autosave(client, rid, token, [{"item": "s01", "value": 4, "seq": 1}]).status_code == 200
    waiting = app.test_client()
    page = waiting.get("/")
    assert waiting.post("/", data={"code": world.code_of(0), "csrf_token": csrf_from(page.text)}).status_code == 302
    access = db.session.scalar(sa.select(AccessCode).where(AccessCode.code == world.code_of(0)))
    reissue_code(db.session, None, access, utcnow())
    db.session.commit()

    resp = autosave(client, rid, token, [{"item": "s02", "value": 3, "seq": 2}])
    assert resp.status_code == 401 and "Sign in again" in resp.json["message"]
    assert client.get("/survey").location == "/"
    assert waiting.get("/confirm").location == "/"
    assert answers_in_db() == {"s01": 4}
    # The pupil with the new slip carries on where the answers stopped.
    survey = sign_in_pupil(app.test_client(), world.code_of(0))
    assert "/survey/p/1" in survey.request.path and page_info(survey.text)[0] == rid


def test_a_reissued_code_also_ends_a_session_between_pages(app, client, world):
    from survey_app.rounds.slips import reissue_code

    survey = sign_in_pupil(client, world.code_of(0))
    access = db.session.scalar(sa.select(AccessCode).where(AccessCode.code == world.code_of(0)))
    reissue_code(db.session, None, access, utcnow())
    db.session.commit()
    resp = client.post(survey.request.path, data={"csrf_token": csrf_from(survey.text), "q1": "2", "nav": "next"})
    assert resp.status_code == 302 and resp.location == "/"
    assert answers_in_db() == {}


@pytest.mark.parametrize("depth", [1000, 20_000])
def test_deeply_nested_autosave_bodies_are_refused_plainly(client, world, depth):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    for nested in ("[" * depth + "]" * depth, '[{"item": ' + "[" * depth + "]" * depth + ', "value": 1}]'):
        body = f'{{"response": {rid}, "answers": {nested}}}'
        resp = client.post("/survey/api/answers", data=body,
                           headers={"X-CSRFToken": token, "Content-Type": "application/json"})
        assert resp.status_code == 400, resp.status_code
        assert resp.json["message"] == "The answers could not be read. Nothing was saved."
    assert answers_in_db() == {}
    assert autosave(client, rid, token, [{"item": "s01", "value": 2, "seq": 1}]).status_code == 200


def test_two_browsers_same_code_make_one_response(app, world):
    a, b = app.test_client(), app.test_client()
    for c in (a, b):
        page = c.get("/")
        c.post("/", data={"code": world.code_of(2), "csrf_token": csrf_from(page.text)})
    for c in (a, b):
        confirm = c.get("/confirm")
        c.post("/confirm", data={"yes": "y", "csrf_token": csrf_from(confirm.text)})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    ra, ta = page_info(a.get("/survey/p/1").text)
    rb, tb = page_info(b.get("/survey/p/1").text)
    assert ra == rb
    autosave(a, ra, ta, [{"item": "s01", "value": 1, "seq": 10}])
    autosave(b, rb, tb, [{"item": "s01", "value": 3, "seq": 20}])
    autosave(a, ra, ta, [{"item": "s01", "value": 2, "seq": 15}])
    db.session.expire_all()
    assert answers_in_db() == {"s01": 3}


def test_idle_pupil_is_signed_out(client, world, monkeypatch):
    sign_in_pupil(client, world.code_of(0))
    import survey_app.pupil.state as state

    real = state.time.time
    monkeypatch.setattr(state.time, "time", lambda: real() + 21 * 60)
    resp = client.get("/survey/p/1")
    assert resp.status_code == 302 and resp.location.endswith("/")
    assert "signed out because nothing happened" in client.get("/").text


def test_finish_for_now_forgets_the_pupil(client, world):
    html = sign_in_pupil(client, world.code_of(0)).text
    resp = client.post("/signout", data={"csrf_token": csrf_from(html), "reason": "later"})
    assert resp.location.endswith("/signed-out?reason=later")
    assert "Your answers are saved" in client.get(resp.location).text
    assert client.get("/survey/p/1").location.endswith("/")
    assert client.post("/signout", data={"csrf_token": csrf_from(html), "reason": "x"}).status_code == 400


def test_time_spent_and_code_use_are_recorded(client, world):
    rid, token = page_info(sign_in_pupil(client, world.code_of(0)).text)
    autosave(client, rid, token, [{"item": "s01", "value": 4, "seq": 1}])
    access = db.session.scalars(sa.select(AccessCode).where(AccessCode.pupil_id == world.pupils[0].id)).one()
    assert access.first_used_at is not None
    response = db.session.get(Response, rid)
    assert response.questionnaire_version_id == world.version.id
    assert response.seconds_spent >= 0 and response.last_activity_at >= response.started_at


def test_every_pupil_page_is_no_store(client, world):
    html = sign_in_pupil(client, world.code_of(0)).text
    for path in ["/", "/confirm", "/survey/p/1", "/survey/check", "/signed-out", "/thanks"]:
        resp = client.get(path)
        assert resp.headers["Cache-Control"].startswith("no-store"), path
    resp = autosave(client, *page_info(html), [{"item": "s01", "value": 4, "seq": 1}])
    assert resp.headers["Cache-Control"].startswith("no-store")


def test_finish_for_now_hidden_when_the_round_says_finish_in_one_go(client, world):
    assert "Finish for now" in sign_in_pupil(client, world.code_of(0)).text
    world.round.allow_finish_later = False
    db.session.commit()
    assert "Finish for now" not in client.get("/survey/p/1").text
    assert "Finish for now" not in client.get("/survey/check").text
