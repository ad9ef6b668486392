"""Every POST without a valid CSRF token is refused and changes nothing: the pupil's side
(sign-in with a code, confirm, answers as a form and as JSON autosave, mode, finish, sign
out) as a signed-in pupil, and the public staff forms.

test_access_matrix.py sends every POST without a token as a signed-in admin; here each
pupil route is tried with the pupil's own session (where the token would otherwise
pass), with no token, a made-up token and another browser's token, and the pupil's
state is checked afterwards: still signed in, nothing answered, nothing finished.
"""

from __future__ import annotations

import json
import re

import pytest

from survey_app.db import db
from survey_app.models import Answer, Response
from tests.conftest import TEST_PASSWORD, csrf_from, make_test_app, sign_in_pupil
from tests.security_support import backend_of, record_figures, row_counts

FORGED = "IjJhYjQ0ZDFhNzQ5YzE1MmQ0ZjFmMTI2YjU2ZjJiZGY5NGQ3NmQ5OGQi.Z0n2mA.forged-signature"


def _pupil_post_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/staff")),
                  key=lambda r: r.rule)


def _url(rule) -> str:
    return re.sub(r"<any\([^)]*\):kind>", "p", rule.rule).replace("<int:number>", "1")


def _signed_in_pupil(app, world, index=0):
    client = app.test_client()
    page = sign_in_pupil(client, world.code_of(index))
    return client, csrf_from(page.text), int(re.search(r'data-response="(\d+)"', page.text).group(1))


def test_every_pupil_post_without_a_valid_token_is_refused_and_changes_nothing(app, world):
    client, token, response_id = _signed_in_pupil(app, world)
    _, other_token, _ = _signed_in_pupil(app, world, 1)  # a token from another browser
    items = [s.id for s in world.q.statements]
    rules = _pupil_post_rules(app)
    assert {r.endpoint for r in rules} >= {"pupil.start", "pupil.confirm", "pupil.answer", "pupil.api_answers",
                                           "pupil.switch_mode", "pupil.finish", "pupil.sign_out"}
    before = row_counts(exclude=set())
    tried = refused = 0
    wrong = []
    for rule in rules:
        url = _url(rule)
        for label, bad in (("no token", None), ("made-up token", FORGED), ("another browser's token", other_token)):
            form = {"code": world.code_of(2), "yes": "Yes, this is me", "q1": "1", "nav": "next", "mode": "single",
                    "at": "1", "reason": "later"}
            headers = {}
            if bad is not None:
                form["csrf_token"] = bad
                headers["X-CSRFToken"] = bad
            for kind in ("form", "json"):
                if kind == "form":
                    resp = client.post(url, data=form, headers=headers)
                else:
                    body = {"response": response_id, "answers": [{"item": items[0], "value": 1, "seq": 1}]}
                    resp = client.post(url, data=json.dumps(body), content_type="application/json",
                                       headers={**headers, "Accept": "application/json"})
                tried += 1
                if resp.status_code == 400:
                    refused += 1
                else:
                    wrong.append(f"POST {url} as {kind} with {label}: {resp.status_code}")
                assert b"Traceback" not in resp.get_data()
                resp.close()
    after = row_counts(exclude=set())
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}

    # The pupil is still signed in, on the same response, with nothing answered or finished.
    page = client.get("/survey", follow_redirects=True)
    assert page.status_code == 200 and f'data-response="{response_id}"' in page.text
    response = db.session.get(Response, response_id)
    assert response.finished_at is None and response.mode == "page"
    assert db.session.scalar(db.select(db.func.count()).select_from(Answer)) == 0

    backend = backend_of(app)
    record_figures(
        f"csrf_pupil_posts[{backend}]",
        f"csrf ({backend}): {len(rules)} pupil POST routes, {tried} requests without a valid token "
        f"(none, made up, another browser's; as a form and as JSON), {refused} refused with 400, "
        f"{len(changed)} tables changed",
        routes=len(rules), requests=tried, refused=refused, tables_changed=len(changed),
    )
    assert not wrong, "\n".join(wrong)
    assert not changed, changed


def test_code_sign_in_and_confirm_without_a_token_do_not_sign_in(app, world):
    client = app.test_client()
    client.get("/")
    resp = client.post("/", data={"code": world.code_of(0)})
    assert resp.status_code == 400
    assert client.get("/confirm").status_code == 302  # not signed in: back to the code page
    # Signed in with the code, but "this is me" without a token starts nothing.
    page = client.get("/")
    assert client.post("/", data={"code": world.code_of(0), "csrf_token": csrf_from(page.text)}).status_code == 302
    assert client.post("/confirm", data={"yes": "Yes, this is me"}).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0
    assert client.get("/survey").status_code == 302


def test_autosave_needs_the_header_token_of_this_session(app, world):
    client, token, response_id = _signed_in_pupil(app, world)
    item = world.q.statements[0].id
    body = json.dumps({"response": response_id, "answers": [{"item": item, "value": 1, "seq": 5}]})
    # The token in the JSON body is not enough: only the header counts for JSON.
    resp = client.post("/survey/api/answers", data=body, content_type="application/json")
    assert resp.status_code == 400 and resp.is_json
    resp = client.post("/survey/api/answers", data=body, content_type="application/json",
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 200, resp.text
    assert db.session.scalar(db.select(db.func.count()).select_from(Answer)) == 1


def test_public_staff_forms_without_a_token_are_refused(app, staff_world):
    client = app.test_client()
    resp = client.post("/staff/sign-in", data={"email": "admin@example.org", "password": TEST_PASSWORD})
    assert resp.status_code == 400
    assert client.get("/staff/").status_code == 302  # not signed in
    resp = client.post("/staff/reset/" + "x" * 40, data={"new": "a" * 20, "confirm": "a" * 20})
    assert resp.status_code in (400, 404)


@pytest.fixture
def https_app(database_url):
    """The app as production serves it: HTTPS, secure cookies, strict referrer check."""
    from survey_app.extensions import limiter

    app = make_test_app(database_url, SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    with app.app_context():
        from tests.conftest import _reset_tables

        _reset_tables(database_url)
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_over_https_a_post_from_another_site_is_refused_even_with_a_token(https_app):
    from tests.conftest import World

    world = World(https_app)
    client = https_app.test_client()
    base = "https://survey.example.org"
    page = client.get("/", base_url=base)
    # Browsers send a same-site Referer under this policy (none under no-referrer, which
    # made this check refuse every form in production), and none to other sites.
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = csrf_from(page.text)
    resp = client.post("/", base_url=base, data={"code": world.code_of(0), "csrf_token": token},
                       headers={"Referer": "https://evil.example/form"})
    assert resp.status_code == 400
    resp = client.post("/", base_url=base, data={"code": world.code_of(0), "csrf_token": token})
    assert resp.status_code == 400  # no referrer at all over HTTPS
    resp = client.post("/", base_url=base, data={"code": world.code_of(0), "csrf_token": token},
                       headers={"Referer": base + "/"})
    assert resp.status_code == 302


def test_over_https_autosave_needs_a_same_site_referrer_too(https_app):
    from tests.conftest import World

    world = World(https_app)
    client = https_app.test_client()
    base = "https://survey.example.org"
    here = {"Referer": base + "/survey/p/1"}
    page = client.get("/", base_url=base)
    client.post("/", base_url=base, headers=here,
                data={"code": world.code_of(0), "csrf_token": csrf_from(page.text)})
    confirm = client.get("/confirm", base_url=base)
    client.post("/confirm", base_url=base, headers=here,
                data={"yes": "Yes, this is me", "csrf_token": csrf_from(confirm.text)})
    page = client.get("/survey", base_url=base, follow_redirects=True)
    token = csrf_from(page.text)
    rid = int(re.search(r'data-response="(\d+)"', page.text).group(1))
    item = world.q.statements[0].id

    def save(seq, headers):
        return client.post("/survey/api/answers", base_url=base, headers={"X-CSRFToken": token, **headers},
                           json={"response": rid, "answers": [{"item": item, "value": 2, "seq": seq}]})

    assert save(1, here).status_code == 200  # the token is now remembered as verified
    assert save(2, {"Referer": "https://evil.example/"}).status_code == 400
    assert save(3, {}).status_code == 400
    assert db.session.scalar(db.select(Answer.seq)) == 1


def test_a_remembered_token_counts_only_for_its_own_session(app, world, monkeypatch):
    from survey_app import security

    client, token, response_id = _signed_in_pupil(app, world)
    other, other_token, other_id = _signed_in_pupil(app, world, 1)
    item = world.q.statements[0].id

    def save(who, tok, rid, seq):
        return who.post("/survey/api/answers", headers={"X-CSRFToken": tok},
                        json={"response": rid, "answers": [{"item": item, "value": 3, "seq": seq}]})

    assert save(client, token, response_id, 1).status_code == 200
    assert save(other, token, other_id, 2).status_code == 400  # verified, but for another session
    assert save(other, other_token, other_id, 3).status_code == 200
    # Past its time limit, a token is still taken within the minute it is remembered for,
    # and refused when it is verified afresh.
    import time

    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 1)
    time.sleep(2.1)
    assert save(client, token, response_id, 4).status_code == 200  # remembered
    monkeypatch.setattr(security, "VERIFIED_FOR_SECONDS", 0.0)
    security._verified.clear()
    assert save(client, token, response_id, 5).status_code == 400
    saved = dict(db.session.execute(db.select(Answer.response_id, Answer.seq)).all())
    assert saved == {response_id: 4, other_id: 3}
