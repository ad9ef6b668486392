"""Review days: set up for groups with 15-minute slots, the timetable, meetings marked held
with who came, the completion view; leads set them up, scope applies."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models.base import utcnow
from survey_app.models.reviews import ReviewDay, ReviewMeeting, Withdrawal
from tests.conftest import csrf_from, login_as


def _new_day(client, sw, **over):
    page = client.get("/staff/review-days/new")
    data = {"school": str(sw.school.id), "name": "Autumn review",
            "held_on": (utcnow().date() + timedelta(days=3)).isoformat(),
            "starts_at": "08:45", "slot_minutes": "15", "groups": [str(sw.group.id)],
            "csrf_token": csrf_from(page.text)}
    data.update(over)
    return client.post("/staff/review-days/new", data=data)


def test_a_review_day_gives_slots_prints_a_timetable_and_shows_who_is_left(client, staff_world):
    sw = staff_world
    db.session.add(Withdrawal(pupil_id=sw.pupils[3].id, answers="kept"))
    db.session.commit()
    login_as(client, sw.lead)
    resp = _new_day(client, sw)
    assert resp.status_code == 302
    day = db.session.scalar(sa.select(ReviewDay))
    # Pupils of the group at this school (not the second school's Sam), not the withdrawn one.
    names = [m.pupil.first_name for m in day.meetings]
    assert names == ["Pupil0", "Pupil1", "Pupil2"]
    timetable = client.get(f"/staff/review-days/{day.id}/timetable").text
    assert timetable.index("08:45") < timetable.index("Pupil0") < timetable.index("09:00") < timetable.index("Pupil1")
    assert "09:15" in timetable
    login_as(client, sw.teacher)
    page = client.get(f"/staff/review-days/{day.id}")
    assert "Still to meet: 3 of 3" in page.text
    first = day.meetings[0]
    resp = client.post(f"/staff/review-meetings/{first.id}", data={
        "held": "y", "who_came": ["pupil", "parent or carer"], "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    refused = client.post(f"/staff/review-meetings/{day.meetings[1].id}", data={
        "who_came": ["pupil"], "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 400
    db.session.expire_all()
    meetings = db.session.scalars(sa.select(ReviewMeeting).order_by(ReviewMeeting.slot)).all()
    assert [(m.held, m.who_came) for m in meetings] == [(True, "pupil, parent or carer"), (False, None), (False, None)]
    assert "Still to meet: 2 of 3" in client.get(f"/staff/review-days/{day.id}").text


def test_review_days_are_set_up_by_leads_in_scope_and_checked(client, staff_world):
    sw = staff_world
    login_as(client, sw.teacher)
    assert client.get("/staff/review-days/new").status_code == 403
    login_as(client, sw.lead)
    for over, message in (({"starts_at": "quarter to nine"}, "hours and minutes"),
                          ({"held_on": "2001-01-01"}, "must not be in the past"),
                          ({"slot_minutes": "2"}, "between 5 and 60"), ({"groups": []}, "Choose at least one group")):
        resp = _new_day(client, sw, **over)
        assert resp.status_code == 400 and message in resp.text, over
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewDay)) == 0
    _new_day(client, sw)
    day = db.session.scalar(sa.select(ReviewDay))
    login_as(client, sw.other_lead)
    assert client.get(f"/staff/review-days/{day.id}").status_code == 404
    assert "Autumn review" not in client.get("/staff/review-days").text
