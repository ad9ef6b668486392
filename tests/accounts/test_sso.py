"""Single sign-on end to end against a real OpenID provider (oidc-provider-mock, started
here in its own process on a free port): our app through the Flask test client, the
provider's pages through httpx, every check of the ID token and of the account."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from survey_app.accounts import sso
from survey_app.accounts.operations import Place
from survey_app.accounts.sso_settings import add_provider, save_rule
from survey_app.db import db
from survey_app.models import AuditEvent, SsoProvider
from tests.conftest import TEST_PASSWORD, csrf_from, login_as

from .test_staff_auth import refusal, sign_in


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_provider(*extra: str):
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and a package from requirements-dev
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--require-nonce", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                return proc, issuer
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the OpenID provider did not start")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def provider_url():
    proc, issuer = _start_provider()
    yield issuer
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def expired_provider_url():
    """A provider whose tokens expired two minutes before they were issued (past our
    leeway for clocks that differ)."""
    proc, issuer = _start_provider("--token-max-age", "-180")
    yield issuer
    proc.terminate()
    proc.wait(10)


@pytest.fixture(autouse=True)
def client_secret(monkeypatch):
    monkeypatch.setenv("SSO_TEST_SECRET", "a-secret-the-mock-accepts")


def _setup(world, issuer: str, domains=("example.org",)) -> SsoProvider:
    provider = add_provider(db.session, world.admin, "oidc", "Test Provider", None, issuer, "survey-app",
                            "SSO_TEST_SECRET")
    save_rule(db.session, world.admin, Place(school=world.school), list(domains), True)
    save_rule(db.session, world.admin, Place(), ["example.org"], True)
    db.session.commit()
    return provider


def _user(issuer: str, email: str, verified=True) -> str:
    sub = f"{uuid.uuid4().hex[:8]}"
    resp = httpx.put(f"{issuer}/users/{sub}", json={"email": email, "email_verified": verified}, timeout=5)
    assert resp.status_code == 204
    return sub


def _flow(client, provider: SsoProvider, sub: str):
    """Start at our sign-in button, sign in at the provider as `sub`, come back: return
    (our answer to the provider's redirect, the callback path we were sent to)."""
    start = client.get(f"/staff/sso/start?provider={provider.id}")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start.location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0] and query["scope"] == ["openid email profile"]
    at_provider = httpx.post(start.location, data={"sub": sub}, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/staff/sso/callback"
    callback = f"{back.path}?{back.query}"
    return client.get(callback), callback


def _last_refusal() -> dict:
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "sign-in refused")
                               .order_by(AuditEvent.id.desc())).first()
    assert event is not None
    return event.detail


def test_sign_in_with_provider_then_sign_out_there_too(client, staff_world, provider_url):
    provider = _setup(staff_world, provider_url)
    page = client.get("/staff/sign-in")
    assert "Sign in with Test Provider" in page.text and f"/staff/sso/start?provider={provider.id}" in page.text
    assert client.get("/staff/sso/start?provider=999").status_code == 404
    resp, _ = _flow(client, provider, _user(provider_url, "Teacher@example.org"))
    assert resp.status_code == 302 and resp.location.endswith("/staff/")
    home = client.get("/staff/")
    assert home.status_code == 200 and "Group A" in home.text
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "signed in")).one()
    assert event.staff_id == staff_world.teacher.id and event.detail["via"] == "single sign-on"
    out = client.post("/staff/sign-out", data={"csrf_token": csrf_from(home.text)})
    assert out.status_code == 200 and "Sign out of Test Provider too" in out.text
    link = re.search(r'href="([^"]*end_session[^"]*)"', out.text).group(1).replace("&amp;", "&")
    assert "id_token_hint=" in link and "post_logout_redirect_uri=" in link
    link = httpx.get(link, timeout=5)
    assert link.status_code == 200  # the provider's own sign-out page
    assert client.get("/staff/").status_code == 302


def test_replayed_state_is_refused(client, staff_world, provider_url):
    provider = _setup(staff_world, provider_url)
    resp, callback = _flow(client, provider, _user(provider_url, "teacher@example.org"))
    assert resp.location.endswith("/staff/")
    other = client.application.test_client()
    replay = other.get(callback)
    assert replay.status_code == 302 and replay.location.endswith("/staff/sign-in")
    assert "used already" in other.get("/staff/sign-in").text
    assert _last_refusal()["reason"] == "state unknown or already used"
    assert other.get("/staff/").status_code == 302


def test_wrong_issuer_is_refused(client, staff_world, provider_url):
    provider = _setup(staff_world, provider_url)
    doc = sso.discovery(provider_url)
    real = doc["token_endpoint"]
    # The token comes from a server that is not the issuer we trust (same keys, other name).
    doc["token_endpoint"] = real.replace("127.0.0.1", "localhost")
    try:
        resp, _ = _flow(client, provider, _user(provider_url, "teacher@example.org"))
    finally:
        doc["token_endpoint"] = real
    assert resp.location.endswith("/staff/sign-in")
    assert _last_refusal()["reason"] == "wrong issuer"
    assert client.get("/staff/").status_code == 302


def test_expired_token_is_refused(client, staff_world, expired_provider_url):
    provider = _setup(staff_world, expired_provider_url)
    resp, _ = _flow(client, provider, _user(expired_provider_url, "teacher@example.org"))
    assert resp.location.endswith("/staff/sign-in")
    assert _last_refusal()["reason"] == "ID token expired"


@pytest.mark.parametrize(("email", "verified", "reason"), [
    ("teacher@example.org", False, "email not verified"),
    ("nobody@example.org", True, "no account has that email"),
    ("teacherb@example.org", True, "email domain not allowed"),
])
def test_refused_accounts(client, staff_world, provider_url, email, verified, reason):
    """Unverified email; an email with no account (no self sign-up); an account whose
    school (Elsewhere Academy) allows no domain for single sign-on."""
    provider = _setup(staff_world, provider_url)
    resp, _ = _flow(client, provider, _user(provider_url, email, verified))
    assert resp.location.endswith("/staff/sign-in")
    detail = _last_refusal()
    assert detail["reason"] == reason and detail["provider"] == "Test Provider"
    assert client.get("/staff/").status_code == 302


def test_password_sign_in_switched_off_but_admin_keeps_break_glass(client, staff_world, provider_url):
    _setup(staff_world, provider_url)
    save_rule(db.session, staff_world.admin, Place(partnership=staff_world.partnership), ["example.org"], False)
    db.session.commit()
    resp = sign_in(client, "teacher@example.org", TEST_PASSWORD)
    assert resp.status_code == 400 and "not passwords" in refusal(resp)
    assert _last_refusal()["reason"] == "password sign-in switched off"
    assert staff_world.teacher.last_login_at is None
    assert sign_in(client, "admin@example.org", TEST_PASSWORD).status_code == 302


def test_admin_sets_up_a_provider_and_a_rule(client, staff_world, provider_url):
    login_as(client, staff_world.admin)
    page = client.get("/staff/admin/sign-in")
    assert page.status_code == 200 and "No provider yet" in page.text
    token = csrf_from(page.text)
    bad = client.post("/staff/admin/sign-in/providers", data={
        "csrf_token": token, "kind": "oidc", "name": "Mock", "issuer": "ftp://nowhere", "client_id": "x"})
    assert bad.status_code == 400 and "https://" in bad.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SsoProvider)) == 0
    ok = client.post("/staff/admin/sign-in/providers", data={
        "csrf_token": token, "kind": "oidc", "name": "Mock", "issuer": provider_url, "client_id": "survey-app",
        "secret_env": "SSO_MOCK_SECRET"})
    assert ok.status_code == 302
    rule = client.post("/staff/admin/sign-in/rules", data={
        "csrf_token": token, "place": f"school:{staff_world.school.id}", "domains": "Example.org\nnot a domain"})
    assert rule.status_code == 400 and "is not an email domain" in rule.text
    rule = client.post("/staff/admin/sign-in/rules", data={
        "csrf_token": token, "place": f"school:{staff_world.school.id}", "domains": "Example.org"})
    assert rule.status_code == 302
    page = client.get("/staff/admin/sign-in")
    assert "Sign in with Mock" in page.text and "example.org" in page.text and "is not set" in page.text
    assert sso.allowed_domains(db.session, staff_world.teacher) == {"example.org"}


def test_presets():
    assert sso.issuer_for("entra", "contoso.onmicrosoft.com", None) == \
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
    assert sso.issuer_for("google", None, None) == "https://accounts.google.com"
    assert sso.issuer_problem("http://idp.example.org") and not sso.issuer_problem("https://idp.example.org")

