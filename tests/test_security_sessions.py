"""Session fixation and cookie flags.

Sessions are signed cookies (no session id on the server), so fixation means: whatever a
browser held before signing in (a cookie planted by someone else, another pupil's
session) is not what it holds after; the cookie from before sign-in does not open the
signed-in pages; signing out leaves nothing of the signed-in session in the browser.
Cookies are HttpOnly and SameSite=Lax always, and Secure in the production profile.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from survey_app import create_app
from survey_app.db import db
from survey_app.models import AccessCode
from tests.conftest import TEST_PASSWORD, IsolatedClient, csrf_from, sign_in_pupil
from tests.security_support import backend_of, record_figures

COOKIE = "session"


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
    # A copy of the signed-in cookie taken before sign-out: the signed cookie carries no
    # server-side state, so it is still accepted until the idle limit or the password changes.
    figures["copied_staff_cookie_works_after_sign_out"] = _with_cookie(app, after).get("/staff/").status_code == 200
    backend = backend_of(app)
    record_figures(
        f"session_staff[{backend}]",
        f"sessions, staff ({backend}): cookie replaced at sign-in (planted values dropped, the old cookie opens "
        f"nothing), cleared at sign-out; a copy of the signed-in cookie taken before sign-out still works after it: "
        f"{figures['copied_staff_cookie_works_after_sign_out']} (ends after {app.config['STAFF_IDLE_MINUTES']} "
        f"idle minutes, a password change or deactivation)",
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
    assert "Pupil0" in _with_cookie(app, first).get("/confirm").text
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
    """The app as `SURVEY_ENV=production` builds it, on the test database."""
    for name in ("SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SURVEY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("DATABASE_URL", database_url)
    prod = create_app({"RATELIMIT_STORAGE_URI": "memory://"})
    prod.test_client_class = IsolatedClient
    with prod.app_context():
        yield prod
        db.session.remove()
        db.engine.dispose()  # its own engine: close its connections now, not when collected


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
