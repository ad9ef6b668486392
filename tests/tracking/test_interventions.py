"""Interventions: planning from the web, notes, the due-for-review list, the profile, access
by role and school, erasure; impact against a hand-worked example."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AttendancePeriod, ChangeLog, Intervention, InterventionNote, Pupil
from survey_app.models.base import utcnow
from survey_app.models.tracking import intervention_members
from survey_app.models.upn import make_upn
from survey_app.tracking.impact import NOT_CAUSE, intervention_impact
from survey_app.tracking.operations import InterventionError, Plan, create_intervention
from tests.cohort_data import add_rounds, answer
from tests.conftest import csrf_from, login_as


def _form(**extra) -> dict:
    today = utcnow().date()
    return {"title": "Confidence mentoring", "kind": "mentoring", "factors": ["self_regard"], "subjects": "Maths",
            "owner": "", "starts_on": today.isoformat(), "review_on": (today + timedelta(days=3)).isoformat(),
            "success_criterion": "Asks for help when stuck", "measure": "factor_out_of_lowest",
            "measure_factor": "self_regard", **extra}


def test_a_teacher_plans_for_a_pupil_adds_notes_and_sees_it_due(client, staff_world):
    w = staff_world
    login_as(client, w.teacher)
    url = f"/staff/tracking/interventions/new?pupil={w.pupils[0].id}"
    page = client.get(url)
    assert page.status_code == 200
    bad = client.post(url, data={**_form(owner=w.teacher.id, review_on="2000-01-01"),
                                 "csrf_token": csrf_from(page.text)})
    assert bad.status_code == 400 and "review date must not be before the start" in bad.text
    assert db.session.query(Intervention).count() == 0
    foreign = client.post(url, data={**_form(owner=w.teacher_b.id), "csrf_token": csrf_from(page.text)})
    assert foreign.status_code == 400 and "Choose an owner from the list" in foreign.text  # not staff of the school
    done = client.post(url, data={**_form(owner=w.teacher.id), "csrf_token": csrf_from(page.text)})
    assert done.status_code == 302
    plan = db.session.query(Intervention).one()
    assert (plan.targets, plan.measure, plan.owner_id, plan.school_id) == (
        {"factors": ["self_regard"], "subjects": ["Maths"], "attendance": False}, "factor_out_of_lowest",
        w.teacher.id, w.school.id)
    shown = client.get(done.location)
    assert "Confidence mentoring" in shown.text and NOT_CAUSE[:40] in shown.text
    note = client.post(f"/staff/tracking/interventions/{plan.id}/notes", data={
        "csrf_token": csrf_from(shown.text), "noted_on": "2026-12-01", "text": "First session went well"})
    assert note.status_code == 302 and db.session.query(InterventionNote).one().text == "First session went well"
    assert "First session went well" in client.get(f"/staff/pupils/{w.pupils[0].id}/profile").text
    listing = client.get("/staff/tracking/interventions/").text
    due = listing.split("Due for review: yours")[1].split("<h2>")[0]
    assert "Confidence mentoring" in due
    status = client.post(f"/staff/tracking/interventions/{plan.id}/status", data={
        "csrf_token": csrf_from(shown.text), "status": "completed", "review_on": "", "ends_on": "2000-01-01"})
    assert status.status_code == 400 and db.session.get(Intervention, plan.id).status == "active"
    status = client.post(f"/staff/tracking/interventions/{plan.id}/status", data={
        "csrf_token": csrf_from(shown.text), "status": "completed", "review_on": "", "ends_on": ""})
    db.session.expire_all()
    assert status.status_code == 302 and db.session.get(Intervention, plan.id).status == "completed"
    assert "Confidence mentoring" not in client.get("/staff/tracking/interventions/").text
    assert "Confidence mentoring" in client.get("/staff/tracking/interventions/?status=all").text
    actions = [e.action for e in db.session.query(ChangeLog).filter(ChangeLog.entity == "intervention")]
    assert actions == ["created", "added a note", "updated"]
    # Another school's lead and another group's teacher find nothing; the partnership lead may see it.
    for who, code in ((w.other_lead, 404), (w.teacher_b, 404), (w.lead, 200)):
        login_as(client, who)
        assert client.get(f"/staff/tracking/interventions/{plan.id}").status_code == code
    assert "Confidence mentoring" in client.get("/staff/tracking/interventions/impact").text
    login_as(client, w.other_lead)
    assert "Confidence mentoring" not in client.get("/staff/tracking/interventions/impact").text
    login_as(client, w.teacher_b)
    assert "Confidence mentoring" not in client.get("/staff/tracking/interventions/").text
    assert client.post(f"/staff/tracking/interventions/{plan.id}/notes", data={
        "csrf_token": csrf_from(client.get("/staff/tracking/interventions/").text), "noted_on": "2026-12-01",
        "text": "x"}).status_code == 404
    assert db.session.query(InterventionNote).count() == 1


def test_a_group_plan_takes_the_groups_pupils_at_its_school_and_erasure_removes_a_pupils_own(staff_world):
    w = staff_world
    today = utcnow().date()
    plan = Plan("Reading club", "literacy", today, today, "Reads more", w.lead.id, subjects=["English"])
    group_plan = create_intervention(db.session, w.lead, w.school, plan, [p.id for p in w.pupils], w.group.id)
    own = create_intervention(db.session, w.lead, w.school, plan, [w.pupils[0].id])
    db.session.commit()
    own_id, group_id = own.id, group_plan.id
    with pytest.raises(InterventionError, match="what it targets"):
        create_intervention(db.session, w.lead, w.school, Plan("x", "custom", today, today, "y", None), [1])
    from survey_app.data.erasure import erase_pupil
    from survey_app.data.subject_access import subject_access_record

    db.session.add(AttendancePeriod(pupil_id=w.pupils[0].id, starts_on=today, ends_on=today, percent=91.0))
    db.session.commit()
    held = subject_access_record(db.session, w.pupils[0], w.admin, utcnow())
    assert held["attendance"][0]["percent"] == 91.0 and len(held["interventions"]) == 2
    counts = erase_pupil(db.session, w.admin, w.pupils[0])
    db.session.commit()
    assert counts["interventions"] == 1 and counts["intervention_memberships"] == 1
    assert counts["attendance_periods"] == 1 and db.session.query(AttendancePeriod).count() == 0
    db.session.expire_all()
    assert db.session.get(Intervention, own_id) is None and db.session.get(Intervention, group_id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(intervention_members).where(
        intervention_members.c.intervention_id == group_id)) == len(w.pupils) - 1


def _answers(world, level: int) -> dict[str, int]:
    """Self-regard statements all at `level` (1..4, after reverse scoring), the rest at 3."""
    low, high = min(o.value for o in world.q.scale), max(o.value for o in world.q.scale)
    out = {}
    for s in world.q.statements:
        v = level if s.factor == "self_regard" else 3
        out[s.id] = low + high - v if s.reversed else v
    return out


def test_impact_against_a_hand_worked_example(world):
    before, after = world.round, add_rounds(world, ("After",))[1]
    start = before.opens_at.date() + timedelta(days=1)
    people = [Pupil(school=world.school, upn=make_upn(201, 4000, 17, i), first_name=name, surname="Hand",
                    year_group=year) for i, (name, year) in enumerate(
        [("Mo", 7), ("Ny", 7), ("Cy", 7), ("Di", 7), ("Ed", 7), ("Fa", 8)], start=1)]
    db.session.add_all(people)
    db.session.flush()
    m1, m2, c1, c2, c3, c4 = people
    # Scores 0, 33.3, 66.7, 100 for levels 1 to 4. Members: 0 → 66.7 and 33.3 → 66.7.
    # Comparison (Y7, concern at baseline, no intervention): 0 → 0 and 33.3 → 66.7; c3 starts
    # positive (another band) and c4 is in Year 8, so neither is similar.
    for p, (b, a) in zip(people, [(1, 3), (2, 3), (1, 1), (2, 3), (4, 1), (1, 4)], strict=True):
        answer(world, before, p, _answers(world, b))
        answer(world, after, p, _answers(world, a))
    db.session.add_all([AttendancePeriod(pupil_id=m1.id, starts_on=start - timedelta(days=60), ends_on=start,
                                         percent=85.0),
                        AttendancePeriod(pupil_id=m1.id, starts_on=start + timedelta(days=1),
                                         ends_on=start + timedelta(days=30), percent=93.0)])
    for p, b, a in ((m2, 90.0, 92.0), (c1, 80.0, 81.0), (c2, 70.0, 75.0)):
        db.session.add_all([AttendancePeriod(pupil_id=p.id, starts_on=start - timedelta(days=60), ends_on=start,
                                             percent=b),
                            AttendancePeriod(pupil_id=p.id, starts_on=start + timedelta(days=1),
                                             ends_on=start + timedelta(days=30), percent=a)])
    plan = create_intervention(db.session, _admin(), world.school, Plan(
        "Mentoring", "mentoring", start, start + timedelta(days=10), "Feels worth something as a learner", None,
        factors=["self_regard"], measure="factor_out_of_lowest", measure_factor="self_regard"), [m1.id, m2.id])
    db.session.commit()
    from survey_app.accounts.scope import Scope

    impact = intervention_impact(db.session, Scope(_admin()), plan, threshold=2)
    assert impact.baseline.id == before.id and [r.round.id for r in impact.rounds] == [after.id]
    ri = impact.rounds[0]
    g, c = ri.group["self_regard"].change, ri.comparison["self_regard"].change
    sd = math.sqrt(((200 / 3 - 50) ** 2 + (100 / 3 - 50) ** 2) / 1)  # the changes are 66.7 and 33.3
    assert (ri.group["self_regard"].n, g.mean_change) == (2, pytest.approx(50.0))
    assert g.sd_change == pytest.approx(sd) and g.dz == pytest.approx(50.0 / sd)
    half_width = 12.7062047 * sd / math.sqrt(2)  # t(0.975, df 1)
    assert (g.ci_low, g.ci_high) == (pytest.approx(50 - half_width), pytest.approx(50 + half_width))
    assert (ri.comparison["self_regard"].n, c.mean_change) == (2, pytest.approx(100 / 6))
    assert ri.met == (2, 2)  # both out of the lowest band at the later round
    # Attendance: members +8 and +2 points, similar pupils +1 and +5.
    assert (impact.attendance.n, impact.attendance.change.mean_change) == (2, pytest.approx(5.0))
    assert (impact.attendance_comparison.n, impact.attendance_comparison.change.mean_change) == (2, pytest.approx(3.0))
    by_name = {p.pupil.first_name: p for p in ri.pupils}
    assert by_name["Mo"].attendance == (85.0, 93.0) and by_name["Mo"].changes["self_regard"][0] == pytest.approx(
        200 / 3)
    # With the usual threshold of 5 every figure here is withheld, and says so.
    withheld = intervention_impact(db.session, Scope(_admin()), plan, threshold=5).rounds[0]
    assert withheld.group["self_regard"].withheld and withheld.group["self_regard"].change is None


def _admin():
    from survey_app.models import StaffUser

    admin = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "impact-admin@example.org"))
    if admin is None:
        admin = StaffUser(email="impact-admin@example.org", name="Admin", role="admin", password_hash="x")
        db.session.add(admin)
        db.session.flush()
    return admin

