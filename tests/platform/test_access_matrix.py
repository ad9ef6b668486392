"""Every staff page against every kind of visitor, and every POST without its CSRF token.

Roles: anonymous, a signed-in pupil, the teacher of another group, the teacher of the
group, the lead of another school, the partnership lead and an admin. Routes are read
from the app itself, so a new page is checked the day it is added: each view declares
its roles through `staff_required`, and an id from outside the visitor's scope is 404.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from survey_app.db import db
from survey_app.models import SupportEntry
from tests.authority.support import add_authority
from tests.conftest import csrf_from, login_as, sign_in_pupil

# Routes whose URL needs a token or a log entry made by an upload: their access rules
# are tested with those uploads in test_roster_import.py and test_paper_answers.py.
NEEDS_UPLOAD = {
    "schools.preview_roster", "schools.preview_refused_csv", "schools.import_result",
    "schools.result_refused_csv", "rounds.paper_import_preview", "tracking.preview_tracking_import",
}
PUBLIC = {"accounts.sign_in", "accounts.reset_password", "accounts.sso_start", "accounts.sso_callback"}
ROLES = ["anonymous", "pupil", "teacher_other", "teacher", "lead_other", "lead", "admin", "authority"]
IN_SCOPE = {"teacher", "lead", "admin", "authority"}
ROLE_OF = {"teacher_other": "teacher", "teacher": "teacher", "lead_other": "lead", "lead": "lead",
           "admin": "admin", "authority": "authority"}


def staff_get_routes(app):
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or "GET" not in rule.methods:
            continue
        if rule.endpoint in PUBLIC or rule.endpoint in NEEDS_UPLOAD:
            continue
        rules.append(rule)
    return sorted(rules, key=lambda r: r.rule)


def arg_values(world, entry_id) -> dict:
    return {
        "group_id": world.group.id, "pupil_id": world.pupils[0].id, "round_id": world.round.id,
        "school_id": world.school.id, "staff_id": world.teacher.id, "partnership_id": world.partnership.id,
        "entry_id": entry_id, "token": "x" * 20, "log_id": 1, "kind": "p", "number": 1,
        "flag_id": world.flag.id, "fmt": "csv", "intervention_id": world.intervention_id,
        "target_id": 1, "day_id": world.review_day.id, "meeting_id": 1,
        "authority_id": world.authority.id if hasattr(world, "authority") else 1,
    }


def add_flag(world) -> None:
    """A partnership flag, so the flag pages have an id in the lead's scope."""
    from survey_app.models import PupilFlag

    world.flag = PupilFlag(name="Mentored", partnership_id=world.partnership.id)
    db.session.add(world.flag)
    add_intervention(world)
    from survey_app.models.reviews import ReviewDay  # a review day of the group's school

    world.review_day = ReviewDay(school_id=world.school.id, name="Review day", held_on=date(2026, 12, 1),
                                 starts_at="09:00", slot_minutes=15)
    db.session.add(world.review_day)
    db.session.commit()


def add_intervention(world) -> None:
    """An intervention for the group's first pupil, so its page has an id in scope."""
    from survey_app.models import Intervention
    from survey_app.models.tracking import intervention_members

    plan = Intervention(title="Mentoring", kind="mentoring", school_id=world.school.id, starts_on=date(2026, 11, 1),
                        review_on=date(2026, 12, 1), success_criterion="Asks for help", owner_id=world.teacher.id,
                        targets={"factors": ["self_regard"]})
    db.session.add(plan)
    db.session.flush()
    db.session.execute(intervention_members.insert(), [{"intervention_id": plan.id, "pupil_id": world.pupils[0].id}])
    world.intervention_id = plan.id


def url_for_rule(rule, values: dict) -> str:
    path = rule.rule
    for name in rule.arguments:
        assert name in values, f"no value for <{name}> in {rule.rule}: add it to the matrix"
        path = re.sub(rf"<[^<>]*\b{name}>", str(values[name]), path)
    return path


def visitor(client, world, role):
    if role == "pupil":
        sign_in_pupil(client, world.code_of(0))
    elif role != "anonymous":
        user = getattr(world, {"teacher_other": "teacher_b", "teacher": "teacher", "lead_other": "other_lead",
                               "lead": "lead", "admin": "admin", "authority": "authority_user"}[role])
        login_as(client, user)


# Deliberate differences from the general rule, each with its reason.
EXCEPTIONS = {
    ("schools.new_school", "lead_other"): 403,  # a school's lead cannot add schools; partnership leads can
    ("accounts.index", "admin"): 302,  # the admin home redirects to the staff accounts list
    ("staff.dashboard", "authority"): 302,  # authority staff go to their own dashboard
}
# Cohort pages without a selection: the report and downloads need two rounds (400, in
# words); an export (or any queued) job token that is not the visitor's own is not found.
for _role in set(ROLE_OF) - {"authority"}:  # authority staff are refused the cohort pages (403)
    EXCEPTIONS[("cohort.print_view", _role)] = 400
    EXCEPTIONS[("cohort.download", _role)] = 400
    EXCEPTIONS[("tracking.tracking_export", _role)] = 400  # a tracking file needs a selection
    EXCEPTIONS[("tracking.new_plan", _role)] = 404  # it needs a pupil or group id
    if _role not in ("teacher_other", "teacher"):
        EXCEPTIONS[("tracking.pattern_thresholds", _role)] = 404  # it needs a school or partnership id
    for _endpoint in ("cohort.export_status", "cohort.export_status_json", "cohort.export_download",
                      "jobs.job_page", "jobs.job_json", "jobs.job_download"):
        EXCEPTIONS[(_endpoint, _role)] = 404


def expected_status(view, rule, role) -> int:
    if (rule.endpoint, role) in EXCEPTIONS:
        return EXCEPTIONS[(rule.endpoint, role)]
    if role in ("anonymous", "pupil"):
        return 302
    if ROLE_OF[role] not in view.staff_roles:
        return 403
    if rule.arguments and role not in IN_SCOPE:
        # staff accounts are admin-only pages, and partnership ids belong to leads' scope
        return 404
    return 200


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_page_gives_each_visitor_exactly_what_it_should(app, staff_world, role):
    add_flag(staff_world)
    add_authority(staff_world)
    entry = SupportEntry(pupil_id=staff_world.pupils[0].id, kind="note", text="A note", starts_on=date(2026, 11, 1),
                         author_id=staff_world.teacher.id)
    db.session.add(entry)
    db.session.commit()
    client = app.test_client()
    visitor(client, staff_world, role)
    wrong = []
    routes = staff_get_routes(app)
    assert len(routes) > 30
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "staff_roles"), f"{rule.endpoint} is not guarded by staff_required"
        url = url_for_rule(rule, arg_values(staff_world, entry.id))
        resp = client.get(url)
        want = expected_status(view, rule, role)
        if resp.status_code != want:
            wrong.append(f"{role} GET {url} ({rule.endpoint}): {resp.status_code}, expected {want}")
        elif role in ("anonymous", "pupil"):
            assert "/staff/sign-in" in resp.location
        assert b"Traceback" not in resp.get_data()
        resp.close()
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["teacher", "lead", "admin"])
def test_every_staff_page_is_no_store(app, staff_world, role):
    """Back on a shared school computer after sign-out must show nothing: every staff
    response (pages, downloads, refusals, the sign-in and reset pages) says no-store."""
    add_flag(staff_world)
    entry = SupportEntry(pupil_id=staff_world.pupils[0].id, kind="note", text="A note", starts_on=date(2026, 11, 1),
                         author_id=staff_world.teacher.id)
    db.session.add(entry)
    db.session.commit()
    client = app.test_client()
    for url in ("/staff/sign-in", "/staff/reset/not-a-token"):
        resp = client.get(url)
        assert "no-store" in resp.headers.get("Cache-Control", ""), url
    visitor(client, staff_world, role)
    kept = []
    routes = staff_get_routes(app)
    for rule in routes:
        url = url_for_rule(rule, arg_values(staff_world, entry.id))
        resp = client.get(url)
        if "no-store" not in resp.headers.get("Cache-Control", ""):
            kept.append(f"{role} GET {url} ({rule.endpoint}): {resp.status_code}, "
                        f"Cache-Control {resp.headers.get('Cache-Control')!r}")
        resp.close()
    assert len(routes) > 30 and not kept, "\n".join(kept)


def test_every_post_without_csrf_is_refused_and_changes_nothing(app, staff_world):
    client = app.test_client()
    login_as(client, staff_world.admin)
    before = db.session.execute(db.text("SELECT COUNT(*) FROM change_log")).scalar()
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(posts) > 20
    add_flag(staff_world)
    entry = SupportEntry(pupil_id=staff_world.pupils[0].id, kind="note", text="A note", starts_on=date(2026, 11, 1))
    db.session.add(entry)
    db.session.commit()
    values = arg_values(staff_world, entry.id)
    for rule in posts:
        path = url_for_rule(rule, values)
        resp = client.post(path, data={"name": "changed", "code": "ABCD-EFGH"})
        assert resp.status_code == 400, f"POST {path} without CSRF answered {resp.status_code}"
        resp.close()
    after = db.session.execute(db.text("SELECT COUNT(*) FROM change_log")).scalar()
    assert after == before


def test_csrf_token_makes_the_same_post_work(app, staff_world):
    """The refusals above are about the token: with it, the same kind of request succeeds."""
    client = app.test_client()
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/pupils/{staff_world.pupils[0].id}/profile")
    resp = client.post(f"/staff/pupils/{staff_world.pupils[0].id}/support", data={
        "csrf_token": csrf_from(page.text), "kind": "note", "intervention_type": "", "text": "With a token",
        "starts_on": "2026-11-02"})
    assert resp.status_code == 302
