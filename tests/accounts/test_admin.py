"""Staff accounts for administrators: list, create, edit, switching off, sign-in waits, reset
links; create-user CLI."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import ChangeLog, StaffUser
from survey_app.models.base import utcnow
from tests.conftest import TEST_PASSWORD, csrf_from, login_as

NEW_PASSWORD = "a-sound-password-42"


def account(email: str) -> StaffUser | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))


def actions(user_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(ChangeLog.action).where(
        ChangeLog.entity == "staff", ChangeLog.entity_id == user_id).order_by(ChangeLog.id)))


def sign_in(client, email, password):
    page = client.get("/staff/sign-in")
    return client.post("/staff/sign-in", data={"email": email, "password": password,
                                               "csrf_token": csrf_from(page.text)})


def link_in(html: str) -> str:
    match = re.search(r"http://[^\s<\"]+/staff/reset/[A-Za-z0-9_\-]+", html)
    assert match, "no reset link on the page"
    return match.group(0)


@pytest.mark.parametrize("who", ["lead", "teacher"])
def test_only_admins_may_manage_staff(client, staff_world, who):
    w = staff_world
    login_as(client, getattr(w, who))
    tok = csrf_from(client.get("/staff/").text)
    for url in ("/staff/admin/staff", "/staff/admin/staff/new", f"/staff/admin/staff/{w.teacher.id}"):
        assert client.get(url).status_code == 403, url
    for action in ("unlock", "deactivate", "reactivate", "reset-link"):
        assert client.post(f"/staff/admin/staff/{w.teacher.id}/{action}",
                           data={"csrf_token": tok}).status_code == 403
    assert client.post("/staff/admin/staff/new", data={"csrf_token": tok, "email": "x@example.org",
                                                       "role": "admin"}).status_code == 403
    assert account("x@example.org") is None and actions(w.teacher.id) == []


def test_list_shows_accounts_with_state(client, staff_world):
    w = staff_world
    w.teacher_b.active = False
    w.lead.last_login_at = utcnow() - timedelta(days=1)
    db.session.commit()
    login_as(client, w.admin)
    page = client.get("/staff/admin/staff")
    assert page.status_code == 200
    for text in ("admin@example.org", "otherlead@example.org", "Test Partnership", "Elsewhere Academy",
                 "Switched off", "never", '<th scope="col">Last sign-in</th>'):
        assert text in page.text, text
    row = page.text[page.text.index("teacherb@example.org"):]
    assert "Switched off" in row[:800]


def create_form(tok, **values):
    data = {"csrf_token": tok, "email": "new.teacher@example.org", "name": "New Teacher",
            "role": "teacher", "place": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    data.update(values)
    return data


def test_create_account_with_password(client, staff_world):
    w = staff_world
    login_as(client, w.admin)
    page = client.get("/staff/admin/staff/new")
    assert page.status_code == 200 and "Second School (URN 100002)" in page.text
    resp = client.post("/staff/admin/staff/new",
                       data=create_form(csrf_from(page.text), place=f"school:{w.school2.id}"))
    assert resp.status_code == 302
    user = account("new.teacher@example.org")
    assert user.role == "teacher" and user.school_id == w.school2.id and user.name == "New Teacher"
    assert actions(user.id) == ["created"]
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.entity_id == user.id,
                                                         ChangeLog.entity == "staff"))
    assert entry.staff_id == w.admin.id and entry.changes["place"] == "Second School"
    assert NEW_PASSWORD not in str(entry.changes)
    other = client.application.test_client()
    assert sign_in(other, "new.teacher@example.org", NEW_PASSWORD).status_code == 302


def test_create_account_refuses_bad_values(client, staff_world):
    w = staff_world
    login_as(client, w.admin)
    tok = csrf_from(client.get("/staff/admin/staff/new").text)
    school = f"school:{w.school.id}"
    cases = [
        (create_form(tok, place=school, password="short", confirm="short"), "at least 12 characters"),
        (create_form(tok, place=school, password="password1234", confirm="password1234"),
         "one of the most common passwords"),
        (create_form(tok, place=school, confirm="something-else-1"), "The two passwords differ"),
        (create_form(tok, place=school, password="", confirm=""), "Set an initial password"),
        (create_form(tok, place=school, email="Teacher@Example.org"), "already an account"),
        (create_form(tok, place=school, email="not-an-email"), "valid email"),
        (create_form(tok), "needs a school or a partnership"),
        (create_form(tok, role="admin", place=school), "sees every school"),
        (create_form(tok, role="owner", place=school), "Choose teacher, lead or administrator"),
        (create_form(tok, place="school:99999"), "Choose a school or partnership from the list"),
    ]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser))
    for data, message in cases:
        resp = client.post("/staff/admin/staff/new", data=data)
        assert resp.status_code == 400, data
        assert message in resp.text, (message, data)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == before
    assert client.post("/staff/admin/staff/new", data=create_form("", place=school)).status_code == 400


def test_create_account_with_set_password_link_usable_once(app, client, staff_world):
    w = staff_world
    login_as(client, w.admin)
    tok = csrf_from(client.get("/staff/admin/staff/new").text)
    resp = client.post("/staff/admin/staff/new", data=create_form(
        tok, email="linked@example.org", role="lead", place=f"partnership:{w.partnership.id}",
        password="", confirm="", send_link="y"))
    assert resp.status_code == 200 and "no-store" in resp.headers["Cache-Control"]
    link = link_in(resp.text)
    assert link.startswith("http://localhost/staff/reset/")
    user = account("linked@example.org")
    assert user.password_hash is None and user.partnership_id == w.partnership.id
    stranger = app.test_client()
    assert sign_in(stranger, "linked@example.org", "").status_code == 400
    path = link.removeprefix("http://localhost")
    page = stranger.get(path)
    assert page.status_code == 200 and "linked@example.org" in page.text
    resp = stranger.post(path, data={"csrf_token": csrf_from(page.text), "new": NEW_PASSWORD,
                                     "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert stranger.get(path).status_code == 404  # once only
    assert sign_in(stranger, "linked@example.org", NEW_PASSWORD).status_code == 302


def test_reset_link_for_an_existing_account(app, client, staff_world):
    w = staff_world
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/staff/{w.teacher.id}")
    assert page.status_code == 200 and "Make a set-password link" in page.text
    tok = csrf_from(page.text)
    first = link_in(client.post(f"/staff/admin/staff/{w.teacher.id}/reset-link",
                                data={"csrf_token": tok}).text)
    resp = client.post(f"/staff/admin/staff/{w.teacher.id}/reset-link", data={"csrf_token": tok})
    assert resp.status_code == 200 and "only time the link is shown" in resp.text
    second = link_in(resp.text)
    other = app.test_client()
    assert other.get(first.removeprefix("http://localhost")).status_code == 404  # replaced
    path = second.removeprefix("http://localhost")
    form = other.get(path)
    assert other.post(path, data={"csrf_token": csrf_from(form.text), "new": NEW_PASSWORD,
                                  "confirm": NEW_PASSWORD}).status_code == 302
    assert other.get(path).status_code == 404
    assert actions(w.teacher.id) == ["issued reset link", "issued reset link", "reset password"]
    assert client.post(f"/staff/admin/staff/{w.teacher.id}/reset-link", data={}).status_code == 400


def test_clearing_the_waits_after_wrong_passwords(app, client, staff_world):
    w = staff_world
    other = app.test_client()
    for _ in range(5):
        refused = sign_in(other, "teacher@example.org", "wrong-password-123")
    assert "must wait" in refused.text
    assert "must wait" in sign_in(other, "teacher@example.org", TEST_PASSWORD).text
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/staff/{w.teacher.id}")
    assert "Let them try again now" in page.text
    resp = client.post(f"/staff/admin/staff/{w.teacher.id}/unlock", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    assert "can try again now, from any computer" in client.get(resp.location).text
    assert sign_in(other, "teacher@example.org", TEST_PASSWORD).status_code == 302
    assert actions(w.teacher.id)[:1] == ["unlocked"]


def test_switching_an_account_off_ends_its_sessions_for_good(app, client, staff_world):
    w = staff_world
    elsewhere = app.test_client()
    login_as(elsewhere, w.teacher)
    assert elsewhere.get("/staff/").status_code == 200
    version = w.teacher.session_version
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/staff/{w.teacher.id}")
    client.post(f"/staff/admin/staff/{w.teacher.id}/deactivate", data={"csrf_token": csrf_from(page.text)})
    assert elsewhere.get("/staff/").status_code == 302
    # Switched on again, the old session stays ended: the account's session version moved on.
    page = client.get(f"/staff/admin/staff/{w.teacher.id}")
    client.post(f"/staff/admin/staff/{w.teacher.id}/reactivate", data={"csrf_token": csrf_from(page.text)})
    assert account("teacher@example.org").session_version == version + 1
    assert elsewhere.get("/staff/").status_code == 302


def edit_form(tok, user, **values):
    data = {"csrf_token": tok, "name": user.name, "role": user.role, "place": "", "active": "y"}
    data.update(values)
    return data


def test_edit_role_place_name_and_active(app, client, staff_world):
    w = staff_world
    other = app.test_client()
    login_as(other, w.teacher)
    assert other.get("/staff/").status_code == 200
    login_as(client, w.admin)
    tok = csrf_from(client.get(f"/staff/admin/staff/{w.teacher.id}").text)
    resp = client.post(f"/staff/admin/staff/{w.teacher.id}", data=edit_form(
        tok, w.teacher, name="Ms Teacher", role="lead", place=f"school:{w.school2.id}"))
    assert resp.status_code == 302
    user = account("teacher@example.org")
    assert (user.name, user.role, user.school_id) == ("Ms Teacher", "lead", w.school2.id)
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.entity == "staff",
                                                         ChangeLog.entity_id == user.id))
    assert entry.action == "edited" and entry.changes["role"] == ["teacher", "lead"]
    assert entry.changes["place"] == ["Test School", "Second School"]
    page = client.get(resp.location)
    assert "Teacher → Lead" in page.text or "teacher → lead" in page.text
    # Switching off: the account's session ends at once.
    resp = client.post(f"/staff/admin/staff/{w.teacher.id}/deactivate", data={"csrf_token": tok})
    assert resp.status_code == 302 and account("teacher@example.org").active is False
    assert other.get("/staff/").status_code == 302
    assert client.post(f"/staff/admin/staff/{w.teacher.id}/reactivate",
                       data={"csrf_token": tok}).status_code == 302
    assert account("teacher@example.org").active is True
    assert actions(w.teacher.id) == ["edited", "deactivated", "reactivated"]
    # Bad values are a message on the form and change nothing.
    for data, message in [(edit_form(tok, user, name=""), "Give a name"),
                          (edit_form(tok, user, place=""), "needs a school or a partnership"),
                          (edit_form(tok, user, role="root"), "Choose teacher, lead or administrator")]:
        resp = client.post(f"/staff/admin/staff/{w.teacher.id}", data=data)
        assert resp.status_code == 400 and message in resp.text, data
    assert account("teacher@example.org").name == "Ms Teacher"
    assert client.get("/staff/admin/staff/999999").status_code == 404


def test_admin_cannot_demote_or_switch_off_themselves(client, staff_world):
    w = staff_world
    login_as(client, w.admin)
    page = client.get(f"/staff/admin/staff/{w.admin.id}")
    assert "Switch off this account" not in page.text
    tok = csrf_from(page.text)
    resp = client.post(f"/staff/admin/staff/{w.admin.id}",
                       data=edit_form(tok, w.admin, role="lead", place=f"school:{w.school.id}"))
    assert resp.status_code == 400 and "cannot change your own role" in resp.text
    resp = client.post(f"/staff/admin/staff/{w.admin.id}", data=edit_form(tok, w.admin, active=""))
    assert resp.status_code == 400 and "cannot switch off your own account" in resp.text
    resp = client.post(f"/staff/admin/staff/{w.admin.id}/deactivate", data={"csrf_token": tok})
    assert resp.status_code == 302
    assert "cannot switch off your own account" in client.get(resp.location).text
    user = account("admin@example.org")
    assert user.role == "admin" and user.active and actions(user.id) == []
    # Renaming yourself is fine.
    resp = client.post(f"/staff/admin/staff/{w.admin.id}", data=edit_form(tok, w.admin, name="Head Admin"))
    assert resp.status_code == 302 and account("admin@example.org").name == "Head Admin"


# ----- create-user command ----------------------------------------------------------------


def test_cli_create_user_prompts_twice(runner, staff_world):
    result = runner.invoke(args=["create-user", "Boss@Example.org", "--role", "admin", "--name", "Boss"],
                           input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.org" in result.output and NEW_PASSWORD not in result.output
    user = account("boss@example.org")
    assert user.role == "admin" and user.name == "Boss"
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.entity == "staff",
                                                         ChangeLog.entity_id == user.id))
    assert entry.staff_id is None and entry.changes["via"] == "command line"


def test_cli_create_user_from_stdin_with_school_or_partnership(runner, staff_world):
    result = runner.invoke(args=["create-user", "t9@example.org", "--role", "teacher", "--school", "100002",
                                 "--password-stdin"], input=f"{NEW_PASSWORD}\n")
    assert result.exit_code == 0 and "Created teacher t9@example.org" in result.output
    assert account("t9@example.org").school_id == staff_world.school2.id
    result = runner.invoke(args=["create-user", "l9@example.org", "--role", "lead",
                                 "--partnership", "Test Partnership", "--password-stdin"],
                           input=f"{NEW_PASSWORD}\n")
    assert result.exit_code == 0 and account("l9@example.org").partnership_id == staff_world.partnership.id


@pytest.mark.parametrize("args, stdin, message", [
    (["x@example.org", "--role", "admin", "--password-stdin"], "short\n", "at least 12 characters"),
    (["x@example.org", "--role", "admin", "--password-stdin"], "letmein12345\n", "easy to guess"),
    (["x@example.org", "--role", "teacher", "--school", "999999", "--password-stdin"], f"{NEW_PASSWORD}\n",
     "No school has URN 999999"),
    (["x@example.org", "--role", "lead", "--partnership", "Nope", "--password-stdin"], f"{NEW_PASSWORD}\n",
     "No partnership is called"),
    (["lead@example.org", "--role", "admin", "--password-stdin"], f"{NEW_PASSWORD}\n", "already an account"),
    (["x@example.org", "--role", "teacher", "--password-stdin"], f"{NEW_PASSWORD}\n",
     "needs a school or a partnership"),
    (["x@example.org", "--role", "admin", "--password-stdin"], "\n", "No password"),
])
def test_cli_create_user_refusals(runner, staff_world, args, stdin, message):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser))
    result = runner.invoke(args=["create-user", *args], input=stdin)
    assert result.exit_code == 1 and message in result.output, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == before


def test_cli_create_user_rejects_a_bad_role(runner, staff_world):
    result = runner.invoke(args=["create-user", "x@example.org", "--role", "owner", "--password-stdin"],
                           input=f"{NEW_PASSWORD}\n")
    assert result.exit_code == 2 and account("x@example.org") is None
