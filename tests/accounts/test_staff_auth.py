"""Staff sign-in, waits after wrong passwords, passwords, reset links, sessions that end
(sign-out, password change or reset, idle and absolute limits) and safe redirects."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.accounts import passwords as staff_accounts
from survey_app.accounts.access import safe_next
from survey_app.db import db
from survey_app.extensions import limiter
from survey_app.models import ChangeLog
from survey_app.models.base import utcnow
from tests.conftest import TEST_PASSWORD, csrf_from, login_as


def sign_in(client, email, password, next_url="", address="127.0.0.1"):
    where = {"REMOTE_ADDR": address}
    page = client.get("/staff/sign-in" + (f"?next={next_url}" if next_url else ""), environ_base=where)
    return client.post("/staff/sign-in", environ_base=where, data={
        "email": email, "password": password, "next": next_url, "csrf_token": csrf_from(page.text)})


def refusal(resp) -> str:
    """The message a refused sign-in shows under the password."""
    return re.search(r'<p class="error" id="password-error">(.*?)</p>', resp.text, re.S).group(1).strip()


def test_sign_in_and_out(client, staff_world):
    resp = sign_in(client, "Teacher@Example.org ", TEST_PASSWORD)
    assert resp.status_code == 302 and resp.location.endswith("/staff/")
    home = client.get("/staff/")
    assert home.status_code == 200 and "Group A" in home.text and "Group B" not in home.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog).where(
        ChangeLog.action == "signed in")) == 1
    resp = client.post("/staff/sign-out", data={"csrf_token": csrf_from(home.text)})
    assert resp.location.endswith("/staff/sign-in")
    assert client.get("/staff/").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_message(client, staff_world):
    a = sign_in(client, "teacher@example.org", "wrong-password-123")
    b = sign_in(client, "nobody@example.org", "wrong-password-123")
    assert a.status_code == b.status_code == 400
    assert "do not match an account" in a.text and "do not match an account" in b.text


def test_wrong_passwords_hold_up_that_computer_and_never_a_colleague(app, staff_world):
    """Someone types a colleague's email with wrong passwords until told to wait: the
    colleague, at their own computer, signs in at once; the stranger's computer waits."""
    stranger, colleague = app.test_client(), app.test_client()
    for _ in range(5):  # (sign_in_waits.FREE_TRIES)
        resp = sign_in(stranger, "teacher@example.org", "wrong-password-123", address="203.0.113.9")
        assert resp.status_code == 400
    assert sign_in(colleague, "teacher@example.org", TEST_PASSWORD, address="198.51.100.7").status_code == 302
    assert colleague.get("/staff/").status_code == 200
    assert "must wait a minute" in refusal(resp)
    held = sign_in(stranger, "teacher@example.org", TEST_PASSWORD, address="203.0.113.9")
    assert held.status_code == 400 and "must wait" in refusal(held)
    # The waits grow (2 minutes after the next wrong try), and nothing was locked on the account.
    from survey_app.accounts import waits as sign_in_waits

    waits = sign_in_waits.SignInWaits(limiter.storage)
    assert 0 < waits.seconds_to_wait("teacher@example.org", "203.0.113.9", time.time()) <= 60
    assert waits.wrong_password("teacher@example.org", "203.0.113.9") == 120
    assert waits.seconds_to_wait("teacher@example.org", "198.51.100.7", time.time()) == 0


def test_waits_and_refusals_say_nothing_about_whether_an_account_exists(app, staff_world):
    said = {}
    for email in ("teacher@example.org", "nobody@example.org"):
        client = app.test_client()
        said[email] = [refusal(sign_in(client, email, "wrong-password-123", address="203.0.113.9"))
                       for _ in range(6)]
    assert said["teacher@example.org"] == said["nobody@example.org"]
    assert said["nobody@example.org"][0] == "That email and password do not match an account."
    assert "locked" not in " ".join(said["teacher@example.org"])


def test_inactive_account_cannot_sign_in(client, staff_world):
    staff_world.teacher.active = False
    db.session.commit()
    assert sign_in(client, "teacher@example.org", TEST_PASSWORD).status_code == 400


@pytest.mark.parametrize("target, allowed", [
    ("/staff/groups/", True), ("https://evil.example/", False), ("//evil.example/x", False),
    ("/\\evil.example", False), ("javascript:alert(1)", False), ("", False),
])
def test_next_redirects_are_checked(client, staff_world, target, allowed):
    resp = sign_in(client, "lead@example.org", TEST_PASSWORD, next_url=target)
    assert resp.status_code == 302
    assert resp.location == (target if allowed else "/staff/")
    assert (safe_next(target) is not None) == allowed


def test_anonymous_is_sent_to_sign_in_with_next(client, staff_world):
    resp = client.get("/staff/groups/")
    assert resp.status_code == 302 and "/staff/sign-in?next=" in resp.location


def test_change_password_rules_and_other_sessions_end(app, client, staff_world):
    other = app.test_client()
    login_as(client, staff_world.teacher)
    login_as(other, staff_world.teacher)
    page = client.get("/staff/password")
    token = csrf_from(page.text)
    weak = client.post("/staff/password", data={"csrf_token": token, "current": TEST_PASSWORD,
                                                "new": "short", "confirm": "short"})
    assert weak.status_code == 400 and "at least 12 characters" in weak.text
    better = {"new": "a-much-better-pass", "confirm": "a-much-better-pass"}
    wrong = client.post("/staff/password", data={"csrf_token": token, "current": "nope-nope-nope", **better})
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    ok = client.post("/staff/password", data={"csrf_token": token, "current": TEST_PASSWORD,
                                              "new": "a-much-better-pass", "confirm": "a-much-better-pass"})
    assert ok.status_code == 302
    assert client.get("/staff/").status_code == 200  # this session carries on
    assert other.get("/staff/").status_code == 302  # the other one has ended


def test_reset_link_works_once(client, staff_world):
    token = staff_accounts.issue_reset(db.session, staff_world.teacher, staff_world.admin, utcnow())
    db.session.commit()
    page = client.get(f"/staff/reset/{token}")
    assert page.status_code == 200 and "teacher@example.org" in page.text
    resp = client.post(f"/staff/reset/{token}", data={
        "csrf_token": csrf_from(page.text), "new": "brand-new-password", "confirm": "brand-new-password"})
    assert resp.status_code == 302
    assert client.get(f"/staff/reset/{token}").status_code == 404
    assert client.get("/staff/reset/not-a-token").status_code == 404
    assert sign_in(client, "teacher@example.org", "brand-new-password").status_code == 302


def test_expired_reset_link_is_refused(client, staff_world):
    token = staff_accounts.issue_reset(db.session, staff_world.teacher, None, utcnow() - timedelta(days=2))
    db.session.commit()
    assert client.get(f"/staff/reset/{token}").status_code == 404


def test_idle_staff_session_expires(client, staff_world, monkeypatch):
    login_as(client, staff_world.lead)
    assert client.get("/staff/").status_code == 200
    import survey_app.accounts.access as access

    real = access.time.time
    monkeypatch.setattr(access.time, "time", lambda: real() + 61 * 60)
    resp = client.get("/staff/")
    assert resp.status_code == 302
    assert "signed out after a period without activity" in client.get("/staff/sign-in").text


def test_sign_out_requires_csrf(client, staff_world):
    login_as(client, staff_world.lead)
    client.post("/staff/sign-out", data={})
    assert client.get("/staff/").status_code == 200


def test_create_user_rules(app, staff_world):
    with pytest.raises(staff_accounts.AccountError, match="valid email"):
        staff_accounts.create_user(db.session, "not-an-email", "admin", "long-enough-pass")
    with pytest.raises(staff_accounts.AccountError, match="school or a partnership"):
        staff_accounts.create_user(db.session, "t2@example.org", "teacher", "long-enough-pass")
    with pytest.raises(staff_accounts.AccountError, match="already an account"):
        staff_accounts.create_user(db.session, "ADMIN@example.org", "admin", "long-enough-pass")
    with pytest.raises(staff_accounts.AccountError, match="Role must be"):
        staff_accounts.create_user(db.session, "t3@example.org", "owner", "long-enough-pass")
    user = staff_accounts.create_user(db.session, "t4@example.org", "teacher", "long-enough-pass",
                                      school=staff_world.school)
    assert user.password_hash.startswith("scrypt:") and "long-enough-pass" not in user.password_hash


def test_polling_does_not_keep_an_idle_session_alive(client, staff_world, monkeypatch):
    login_as(client, staff_world.teacher)
    import survey_app.accounts.access as access

    real = access.time.time
    url = f"/staff/rounds/{staff_world.round.id}/completion.json"
    monkeypatch.setattr(access.time, "time", lambda: real() + 40 * 60)
    assert client.get(url).status_code == 200  # 40 minutes in: still signed in
    monkeypatch.setattr(access.time, "time", lambda: real() + 70 * 60)
    assert client.get(url).status_code != 200  # 70 minutes since the person last did anything


# ----- sessions that end when they should ---------------------------------------------


def test_signing_out_ends_the_accounts_sessions_in_other_browsers(app, client, staff_world):
    other = app.test_client()
    assert sign_in(client, "teacher@example.org", TEST_PASSWORD).status_code == 302
    assert sign_in(other, "teacher@example.org", TEST_PASSWORD, address="198.51.100.7").status_code == 302
    assert other.get("/staff/").status_code == 200
    home = client.get("/staff/")
    client.post("/staff/sign-out", data={"csrf_token": csrf_from(home.text)})
    assert other.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_a_password_reset_ends_the_accounts_other_sessions(app, client, staff_world):
    elsewhere = app.test_client()
    login_as(elsewhere, staff_world.teacher)
    assert elsewhere.get("/staff/").status_code == 200
    token = staff_accounts.issue_reset(db.session, staff_world.teacher, staff_world.admin, utcnow())
    db.session.commit()
    page = client.get(f"/staff/reset/{token}")
    resp = client.post(f"/staff/reset/{token}", data={
        "csrf_token": csrf_from(page.text), "new": "brand-new-password", "confirm": "brand-new-password"})
    assert resp.status_code == 302
    assert elsewhere.get("/staff/").status_code == 302


def test_staff_sessions_end_eight_hours_after_sign_in_however_busy(client, staff_world, monkeypatch):
    assert sign_in(client, "lead@example.org", TEST_PASSWORD).status_code == 302
    import survey_app.accounts.access as access

    real = access.time.time
    started = real()
    for minutes in range(30, 8 * 60, 30):  # a request every half hour: never idle
        monkeypatch.setattr(access.time, "time", lambda m=minutes: started + m * 60)
        assert client.get("/staff/").status_code == 200, minutes
    monkeypatch.setattr(access.time, "time", lambda: started + 8 * 3600 + 60)
    resp = client.get("/staff/")
    assert resp.status_code == 302 and "/staff/sign-in" in resp.location
    assert "signed out 8 hours after signing in" in client.get("/staff/sign-in").text


@pytest.mark.parametrize("password, why", [
    ("password1234", "one of the most common passwords"),
    ("iloveyou2024", "a common password with a little added or changed"),
    ("Password123!", "a common password with a little added or changed"),
    ("abcdefghijklmn", "easy to guess"),
])
def test_common_and_guessable_passwords_are_refused_with_the_reason(client, staff_world, password, why):
    login_as(client, staff_world.teacher)
    page = client.get("/staff/password")
    resp = client.post("/staff/password", data={"csrf_token": csrf_from(page.text), "current": TEST_PASSWORD,
                                                "new": password, "confirm": password})
    assert resp.status_code == 400 and why in resp.text
    assert why in " ".join(staff_accounts.password_problems(password, "teacher@example.org"))
    token = staff_accounts.issue_reset(db.session, staff_world.teacher, staff_world.admin, utcnow())
    db.session.commit()
    page = client.get(f"/staff/reset/{token}")
    resp = client.post(f"/staff/reset/{token}", data={
        "csrf_token": csrf_from(page.text), "new": password, "confirm": password})
    assert resp.status_code == 400 and why in resp.text


def test_passwords_need_twelve_characters_and_strong_ones_pass():
    assert staff_accounts.password_problems("fjord-lamp-9") == []
    assert staff_accounts.password_problems("fjord-lamp9") == ["Use at least 12 characters."]
    assert staff_accounts.password_problems(TEST_PASSWORD) == []
    assert staff_accounts.password_problems("teacher-lamp-fjord", "teacher@example.org") == [
        "Do not include your email name in the password."]
    assert "your name or email" in staff_accounts.password_problems("hannahsmith1", "", "Hannah Smith")[0]


def test_staff_sign_in_works_with_the_route_limits_switched_off(database_url):
    """RATELIMIT_ENABLED=0 turns off the routes' limits; sign-in (and its waits after wrong
    passwords) must still work, not fail for want of the limiter's storage."""
    from tests.conftest import StaffWorld, make_test_app

    app = make_test_app(database_url, RATELIMIT_ENABLED=False)
    with app.app_context():
        from tests.conftest import _reset_tables

        _reset_tables(database_url)
        world = StaffWorld(app)
        client = app.test_client()
        page = client.get("/staff/sign-in")
        wrong = client.post("/staff/sign-in", data={"email": world.lead.email, "password": "not the password",
                                                    "csrf_token": csrf_from(page.text)})
        assert wrong.status_code == 400
        page = client.get("/staff/sign-in")
        right = client.post("/staff/sign-in", data={"email": world.teacher.email, "password": TEST_PASSWORD,
                                                    "csrf_token": csrf_from(page.text)})
        assert right.status_code == 302
        db.session.remove()
        db.engine.dispose()
