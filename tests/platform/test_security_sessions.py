"""Session fixation, sessions that end on the server, and cookie flags.

Sessions live on the server (files in development and tests, Redis in production); the
cookie holds only a random id. Fixation means: whatever a browser held before signing in
(an id planted by someone else, another pupil's session) is not what it holds after, and
the id from before sign-in opens nothing. Signing out deletes the stored session, so a
copy of the signed-in cookie taken before sign-out opens nothing after it, on the file
store and on Redis alike. Cookies are HttpOnly and SameSite=Lax always, and Secure in the
production profile.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

import pytest

from survey_app import create_app
from survey_app.db import db
from survey_app.models import AccessCode
from tests.conftest import TEST_PASSWORD, IsolatedClient, csrf_from, sign_in_pupil
from tests.security_support import backend_of, record_figures

COOKIE = "session"
REDIS_URL = "redis://127.0.0.1:6379/10"


def redis_or_skip():
    """A client of the tests' Redis database, or skip the test when Redis is not running."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc})")
    return client


def _cookie(client) -> str | None:
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def _with_cookie(app, value: str):
    """A fresh browser holding only `value` as its session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def _plant(client, **values) -> None:
    with client.session_transaction() as sess:
        sess.update(values)


def _session(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def _staff_sign_in(client, email="lead@example.org", base_url="http://localhost"):
    page = client.get("/staff/sign-in", base_url=base_url)
    return client.post("/staff/sign-in", base_url=base_url, data={
        "csrf_token": csrf_from(page.text), "email": email, "password": TEST_PASSWORD, "next": ""})


def test_staff_sign_in_starts_a_new_session_and_sign_out_ends_it(app, staff_world):
    figures = {}
    client = app.test_client()
    client.get("/staff/sign-in")
    _plant(client, planted="by someone else", pupil={"code_id": 1, "response_id": None, "seen": 9e9})
    before = _cookie(client)
    resp = _staff_sign_in(client)
    assert resp.status_code == 302 and resp.location == "/staff/"
    after = _cookie(client)
    assert after and after != before
    held = _session(client)
    assert "planted" not in held and "pupil" not in held, held
    assert held["_user_id"].startswith(f"{staff_world.lead.id}:")
    # The cookie from before sign-in does not open a staff page; the new one does.
    assert _with_cookie(app, before).get("/staff/").status_code == 302
    assert _with_cookie(app, after).get("/staff/").status_code == 200
    figures["staff_cookie_changed_at_sign_in"] = True

    page = client.get("/staff/")
    resp = client.post("/staff/sign-out", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    assert "_user_id" not in _session(client)
    assert client.get("/staff/").status_code == 302
    set_cookie = resp.headers.get("Set-Cookie", "")
    assert set_cookie.startswith(f"{COOKIE}="), "sign-out should replace the session cookie"
    # A copy of the signed-in cookie taken before sign-out (another tab, a copied cookie):
    # its stored session is gone, so it opens nothing.
    copied = _with_cookie(app, after).get("/staff/")
    assert copied.status_code == 302 and "/staff/sign-in" in copied.location
    figures["copied_staff_cookie_works_after_sign_out"] = False
    backend = backend_of(app)
    record_figures(
        f"session_staff[{backend}]",
        f"sessions, staff ({backend}): cookie replaced at sign-in (planted values dropped, the old cookie opens "
        f"nothing), stored session deleted at sign-out: a copy of the signed-in cookie taken before sign-out "
        f"opens nothing after it",
        **figures,
    )


def test_a_password_change_ends_every_other_copy_of_the_session(app, staff_world):
    client = app.test_client()
    _staff_sign_in(client)
    copy = _cookie(client)
    page = client.get("/staff/password")
    resp = client.post("/staff/password", data={"csrf_token": csrf_from(page.text), "current": TEST_PASSWORD,
                                                "new": "another-long-passphrase-2026",
                                                "confirm": "another-long-passphrase-2026"})
    assert resp.status_code == 302, resp.text
    assert client.get("/staff/").status_code == 200
    assert _with_cookie(app, copy).get("/staff/").status_code == 302


def _code_id(world, index: int) -> int:
    return db.session.scalar(db.select(AccessCode.id).where(AccessCode.pupil_id == world.pupils[index].id,
                                                            AccessCode.round_id == world.round.id))


def test_pupil_sign_in_starts_a_new_session_and_sign_out_ends_it(app, world):
    # Someone signs in on a shared computer and walks away; the next pupil types their code.
    client = app.test_client()
    sign_in_pupil(client, world.code_of(0))
    first = _cookie(client)
    _plant(client, planted="left behind")
    page = client.get("/", follow_redirects=True)
    resp = client.post("/", data={"code": world.code_of(1), "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    second = _cookie(client)
    held = _session(client)
    assert second != first
    assert held["pupil"]["code_id"] == _code_id(world, 1) and held["pupil"]["response_id"] is None
    assert "planted" not in held
    # The first pupil's cookie is not the second pupil's session, and the code page's
    # cookie (before any code) opens nothing.
    anonymous = app.test_client()
    anonymous.get("/")
    assert _with_cookie(app, _cookie(anonymous)).get("/confirm").status_code == 302
    assert _with_cookie(app, first).get("/confirm").status_code == 302  # deleted when the next pupil came
    assert "Pupil1" in client.get("/confirm").text and "Pupil0" not in client.get("/confirm").text

    confirm = client.get("/confirm")
    client.post("/confirm", data={"yes": "Yes, this is me", "csrf_token": csrf_from(confirm.text)})
    page = client.get("/survey", follow_redirects=True)
    resp = client.post("/signout", data={"reason": "later", "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    assert "pupil" not in _session(client)
    assert client.get("/survey").status_code == 302
    backend = backend_of(app)
    record_figures(f"session_pupil[{backend}]",
                   f"sessions, pupil ({backend}): cookie replaced at code sign-in (the last pupil's session and "
                   f"planted values dropped; the code page's cookie opens nothing), cleared at 'finish for now'",
                   replaced_at_sign_in=True, cleared_at_sign_out=True)


def _flags(resp) -> list[tuple[str, dict]]:
    out = []
    for name, value in resp.headers.items():
        if name == "Set-Cookie":
            for morsel in SimpleCookie(value).values():
                out.append((value, {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
                                    "samesite": morsel["samesite"]}))
    return out


def test_cookies_are_httponly_and_samesite_lax(app, staff_world):
    client = app.test_client()
    seen = _flags(client.get("/")) + _flags(_staff_sign_in(client))
    assert seen
    for header, flags in seen:
        assert flags["httponly"] and flags["samesite"] == "Lax", header


@pytest.fixture
def production_app(app, database_url, monkeypatch):
    """The app as `SURVEY_ENV=production` builds it, on the test database, with its
    sessions in Redis (database 10, under a prefix of this test's own, removed afterwards).
    Rate limits are off: the limiter is one object per process and keeps the first key
    prefix it was given (tests/test_security_ratelimit.py runs them in Redis, in gunicorn).
    Skipped when Redis is not running."""
    redis = redis_or_skip()
    prefix = f"sessiontest-{secrets.token_hex(6)}:"
    for name in ("SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "TRUSTED_PROXIES", "SESSION_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SURVEY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("SESSION_KEY_PREFIX", prefix)
    prod = create_app({"RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    prod.test_client_class = IsolatedClient
    try:
        with prod.app_context():
            yield prod
            db.session.remove()
            db.engine.dispose()  # its own engine: close its connections now, not when collected
    finally:
        for key in redis.scan_iter(match=f"*{prefix}*"):
            redis.delete(key)
        redis.close()


def test_production_cookies_are_secure_httponly_samesite(production_app, staff_world):
    base = "https://survey.example.org"
    client = production_app.test_client()
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    page = client.get("/", base_url=base)
    seen = _flags(page)
    seen += _flags(client.post("/", base_url=base, headers={"Referer": base + "/"},
                               data={"code": staff_world.code_of(0), "csrf_token": csrf_from(page.text)}))
    staff = production_app.test_client()
    login_page = staff.get("/staff/sign-in", base_url=base)
    signed_in = staff.post("/staff/sign-in", base_url=base, headers={"Referer": base + "/staff/sign-in"}, data={
        "csrf_token": csrf_from(login_page.text), "email": "lead@example.org", "password": TEST_PASSWORD})
    assert signed_in.status_code == 302, signed_in.text
    seen += _flags(login_page) + _flags(signed_in)
    assert len(seen) >= 3
    for header, flags in seen:
        assert flags == {"secure": True, "httponly": True, "samesite": "Lax"}, header
    assert "max-age=" in signed_in.headers.get("Strict-Transport-Security", "")
    backend = backend_of(production_app)
    record_figures(f"cookie_flags[{backend}]",
                   f"cookie flags ({backend}): {len(seen)} cookies set by the production profile (pupil and staff "
                   f"sign-in), all Secure, HttpOnly, SameSite=Lax; HSTS sent",
                   cookies=len(seen), all_secure_httponly_lax=True)


def test_a_copied_cookie_is_refused_after_sign_out_with_sessions_in_redis(production_app, staff_world):
    """The production store: sign-in and sign-out on the Redis sessions that every worker
    shares; the cookie copied before sign-out is refused, and its key is gone from Redis."""
    base = "https://survey.example.org"
    client = production_app.test_client()
    page = client.get("/staff/sign-in", base_url=base)
    signed_in = client.post("/staff/sign-in", base_url=base, headers={"Referer": base + "/staff/sign-in"}, data={
        "csrf_token": csrf_from(page.text), "email": "lead@example.org", "password": TEST_PASSWORD})
    assert signed_in.status_code == 302, signed_in.text
    copy = client.get_cookie(COOKIE, domain="survey.example.org").value
    prefix = production_app.config["SESSION_KEY_PREFIX"]
    redis = production_app.session_interface.client
    assert redis.exists(prefix + copy)
    thief = production_app.test_client()
    thief.set_cookie(COOKIE, copy, domain="survey.example.org")
    assert thief.get("/staff/", base_url=base).status_code == 200
    home = client.get("/staff/", base_url=base)
    out = client.post("/staff/sign-out", base_url=base, headers={"Referer": base + "/staff/"},
                      data={"csrf_token": csrf_from(home.text)})
    assert out.status_code == 302
    assert not redis.exists(prefix + copy)
    refused = thief.get("/staff/", base_url=base)
    assert refused.status_code == 302 and "/staff/sign-in" in refused.location
    record_figures(f"session_redis[{backend_of(production_app)}]",
                   "sessions in Redis: a copy of a signed-in cookie opens the staff pages until sign-out, "
                   "then nothing (its key deleted from Redis)", copied_cookie_refused_after_sign_out=True)
