"""The partnership data-sharing boundary: a school decides which of its pupils its
partnership's leads see one by one; the others count only inside suppressed aggregates."""

from __future__ import annotations

import pytest

from survey_app.accounts.scope import Scope
from survey_app.cohort.build import cohort_report
from survey_app.cohort.selection import CohortSelection
from survey_app.db import db
from survey_app.models import ChangeLog, Pupil, StaffUser
from survey_app.models.base import utcnow
from tests.cohort_data import add_pupils, add_rounds, fill
from tests.conftest import _password_hash, csrf_from, login_as


@pytest.fixture
def school_lead(staff_world):
    lead = StaffUser(email="schoollead@example.org", name="School Lead", role="lead",
                     password_hash=_password_hash(), school_id=staff_world.school.id)
    db.session.add(lead)
    db.session.commit()
    return lead


def test_school_lead_stops_sharing_one_pupil(client, staff_world, school_lead):
    pupil = staff_world.pupils[0]
    login_as(client, school_lead)
    form = client.get(f"/staff/schools/pupils/{pupil.id}/edit")
    assert "Share this pupil" in form.text
    data = {"csrf_token": csrf_from(form.text), "first_name": pupil.first_name, "surname": pupil.surname,
            "year_group": str(pupil.year_group), "reg_group": "", "gender": "", "sen": "N", "left_on": ""}
    saved = client.post(f"/staff/schools/pupils/{pupil.id}/edit", data=data)  # box unticked
    assert saved.status_code == 302, saved.text
    db.session.expire_all()
    assert db.session.get(Pupil, pupil.id).shared_with_partnership is False
    assert db.session.query(ChangeLog).filter_by(entity="pupil", entity_id=pupil.id, action="sharing").count() == 1

    # The partnership lead no longer sees the pupil individually...
    login_as(client, staff_world.lead)
    assert client.get(f"/staff/schools/pupils/{pupil.id}").status_code == 404
    assert client.get(f"/staff/pupils/{pupil.id}/profile").status_code == 404
    group_page = client.get(f"/staff/groups/{staff_world.group.id}")
    assert pupil.first_name not in group_page.text
    assert staff_world.pupils[1].first_name in group_page.text
    # ...and cannot change the sharing, which is the school's decision.
    edit = client.get(f"/staff/schools/pupils/{staff_world.pupils[1].id}/edit")
    assert "Share this pupil" not in edit.text
    page = client.get(f"/staff/schools/{staff_world.school.id}")
    assert "The school's own lead decides this." in page.text
    refused = client.post(f"/staff/schools/{staff_world.school.id}/sharing",
                          data={"csrf_token": csrf_from(page.text), "share": "none"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Pupil, staff_world.pupils[1].id).shared_with_partnership is True


def test_unshared_pupils_still_count_in_the_partnership_aggregates(staff_world):
    rounds = add_rounds(staff_world, names=("After",))
    pupils = add_pupils(staff_world, 12)
    fill(staff_world, rounds, pupils, seed=5)
    for p in pupils[:6]:
        p.shared_with_partnership = False
    db.session.commit()
    selection = CohortSelection(round_ids=tuple(r.id for r in rounds))
    lead = cohort_report(db.session, Scope(staff_world.lead), selection, utcnow(), 5)
    admin = cohort_report(db.session, Scope(staff_world.admin), selection, utcnow(), 5)
    # The lead's figures count the unshared pupils too, but as protected figures (adjusted
    # for privacy: tests/core/test_privacy.py); the admin sees every pupil, so exactly.
    lead_change, admin_change = lead.main.comparisons[0].factors[0], admin.main.comparisons[0].factors[0]
    assert admin_change.n_paired == 12 and not admin_change.protected
    assert lead_change.protected and abs(lead_change.n_paired - 12) <= 2
    visible = db.session.scalars(Scope(staff_world.lead).pupils()).all()
    assert not {p.id for p in pupils[:6]} & {p.id for p in visible}


def test_bulk_sharing_on_the_school_page(client, staff_world, school_lead):
    login_as(client, school_lead)
    page = client.get(f"/staff/schools/{staff_world.school.id}")
    assert "Share every pupil" in page.text
    token = csrf_from(page.text)
    done = client.post(f"/staff/schools/{staff_world.school.id}/sharing", data={"csrf_token": token, "share": "none"})
    assert done.status_code == 302
    db.session.expire_all()
    assert all(not p.shared_with_partnership for p in
               db.session.query(Pupil).filter_by(school_id=staff_world.school.id))
    # Pupils of the partnership's other school are not touched.
    assert db.session.get(Pupil, staff_world.pupil2.id).shared_with_partnership is True
    bad = client.post(f"/staff/schools/{staff_world.school.id}/sharing", data={"csrf_token": token, "share": "x"})
    assert bad.status_code == 303
    again = client.post(f"/staff/schools/{staff_world.school.id}/sharing", data={"csrf_token": token, "share": "all"})
    assert again.status_code == 302
    db.session.expire_all()
    assert all(p.shared_with_partnership for p in db.session.query(Pupil).filter_by(school_id=staff_world.school.id))


def test_standalone_school_has_no_sharing_choice(client, staff_world):
    login_as(client, staff_world.other_lead)
    page = client.get(f"/staff/schools/{staff_world.other_school.id}")
    assert "Sharing with" not in page.text
    edit = client.get(f"/staff/schools/pupils/{staff_world.other_pupil.id}/edit")
    assert "Share this pupil" not in edit.text
