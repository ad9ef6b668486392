"""The administrator's authority pages: set an authority up in the browser, refusals
that change nothing, admin only, CSRF on every POST."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AuditEvent, Partnership, StaffUser
from survey_app.models.authority import (
    Authority,
    BrokeredPartnership,
    PartnershipPairing,
    authority_schools,
    authority_staff,
)
from tests.authority.support import add_authority
from tests.conftest import csrf_from, login_as

LIST = "/staff/authorities/"
TABLES = (Authority.__table__, authority_schools, authority_staff, BrokeredPartnership.__table__,
          PartnershipPairing.__table__, StaffUser.__table__, AuditEvent.__table__)


def _counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in TABLES}


def _post(client, page_url, url, data, follow=False):
    token = csrf_from(client.get(page_url).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=follow)


def _admin(app, world):
    client = app.test_client()
    login_as(client, world.admin)
    return client


def test_admin_sets_up_an_authority_whose_staff_then_see_its_dashboard(app, staff_world):
    w = staff_world
    client = _admin(app, w)
    resp = _post(client, LIST, LIST, {"name": "North Trust", "schools": [w.school.urn, w.school2.urn]})
    assert resp.status_code == 302
    authority = db.session.scalar(sa.select(Authority).where(Authority.name == "North Trust"))
    page_url = f"/staff/authorities/{authority.id}"
    assert resp.location.endswith(page_url)
    assert {s.urn for s in authority.schools} == {w.school.urn, w.school2.urn}
    listing = client.get(LIST).text
    assert "North Trust" in listing and "New authority" in listing

    resp = _post(client, page_url, f"{page_url}/partnerships",
                 {"partnership": str(w.partnership.id), "started_on": "2026-09-01",
                  "supported": [w.school.urn], "supporting": [w.school2.urn]}, follow=True)
    assert resp.status_code == 200 and "recorded as brokered" in resp.text
    brokered = db.session.get(BrokeredPartnership, w.partnership.id)
    assert brokered.authority_id == authority.id and str(brokered.started_on) == "2026-09-01"
    assert {(p.school_id, p.role) for p in brokered.pairings} == {(w.school.id, "supported"),
                                                                  (w.school2.id, "supporting")}
    assert "supported" in resp.text and "supporting" in resp.text

    resp = _post(client, page_url, f"{page_url}/staff/new", {"new_email": "Viewer@Example.org", "new_name": "Viewer"})
    assert resp.status_code == 200 and "set-password link" in resp.text.lower()
    assert "no-store" in resp.headers["Cache-Control"]
    viewer = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "viewer@example.org"))
    assert viewer.role == "authority" and viewer.authority.id == authority.id and viewer.school_id is None

    viewer.password_hash = w.admin.password_hash
    db.session.commit()
    seen = app.test_client()
    login_as(seen, viewer)
    board = seen.get("/staff/authority/")
    assert board.status_code == 200 and w.school.name in board.text and "North Trust" in board.text
    assert seen.get(LIST).status_code == 403

    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.staff_id == w.admin.id)))
    assert {"authority created", "partnership brokered", "authority staff attached"} <= actions


def test_schools_and_staff_are_added_and_removed(app, staff_world):
    w = staff_world
    add_authority(w)
    a = w.authority
    page_url = f"/staff/authorities/{a.id}"
    client = _admin(app, w)
    # A paired school cannot leave; the pairing goes first.
    resp = _post(client, page_url, f"{page_url}/schools/{w.school.id}/remove", {}, follow=True)
    assert "paired in the brokered partnership" in resp.text
    resp = _post(client, page_url, f"{page_url}/partnerships/{w.partnership.id}/remove", {}, follow=True)
    assert "no longer recorded as brokered" in resp.text
    assert db.session.get(BrokeredPartnership, w.partnership.id) is None
    resp = _post(client, page_url, f"{page_url}/schools/{w.school.id}/remove", {}, follow=True)
    assert "is no longer a school" in resp.text
    db.session.expire_all()
    assert w.school.urn not in {s.urn for s in a.schools}
    resp = _post(client, page_url, f"{page_url}/schools", {"urn": w.school.urn}, follow=True)
    assert "is now a school of" in resp.text
    db.session.expire_all()
    assert w.school.urn in {s.urn for s in a.schools}

    other = StaffUser(email="second@example.org", name="Second", role="authority")
    db.session.add(other)
    db.session.commit()
    resp = _post(client, page_url, f"{page_url}/staff", {"email": "second@example.org"}, follow=True)
    assert "aggregates only" in resp.text
    version = w.authority_user.session_version
    resp = _post(client, page_url, f"{page_url}/staff/{w.authority_user.id}/remove", {}, follow=True)
    assert "off Test Authority" in resp.text
    db.session.expire_all()
    assert w.authority_user.authority is None and w.authority_user.session_version == version + 1
    assert db.session.get(StaffUser, w.authority_user.id) is not None  # the account stays


@pytest.mark.parametrize("case", ["empty name", "duplicate name", "unknown school", "other role", "no such staff",
                                  "unknown school added", "same school twice", "both sides", "bad date",
                                  "taken email"])
def test_refusals_say_why_and_change_nothing(app, staff_world, case):
    w = staff_world
    add_authority(w)
    page_url = f"/staff/authorities/{w.authority.id}"
    url, data, words = {
        "empty name": (LIST, {"name": "  ", "schools": [w.school.urn]}, "Give the authority a name"),
        "duplicate name": (LIST, {"name": "Test Authority"}, "already an authority called Test Authority"),
        "unknown school": (LIST, {"name": "New", "schools": [w.school.urn, "999999"]}, "No school with URN 999999"),
        "other role": (f"{page_url}/staff", {"email": w.lead.email}, "is a lead account"),
        "no such staff": (f"{page_url}/staff", {"email": "nobody@example.org"}, "No staff account"),
        "unknown school added": (f"{page_url}/schools", {"urn": "999999"}, "No school with URN 999999"),
        "same school twice": (f"{page_url}/schools", {"urn": w.school.urn}, "already a school of"),
        "both sides": (f"{page_url}/partnerships", {"partnership": str(w.partnership.id), "started_on": "2026-09-01",
                                                    "supported": [w.school.urn], "supporting": [w.school.urn]},
                       "both supported and supporting"),
        "bad date": (f"{page_url}/partnerships", {"partnership": str(w.partnership.id), "started_on": "soon",
                                                  "supported": [w.school.urn], "supporting": [w.school2.urn]},
                     "Started on"),
        "taken email": (f"{page_url}/staff/new", {"new_email": w.teacher.email}, "already an account with that email"),
    }[case]
    client = _admin(app, w)
    before = _counts()
    lead_role = w.lead.role
    resp = _post(client, LIST if url == LIST else page_url, url, data)
    assert resp.status_code == 400
    assert words in resp.text and "Nothing was saved" in resp.text
    assert _counts() == before
    assert w.lead.role == lead_role


def test_ids_out_of_range_are_not_found(app, staff_world):
    w = staff_world
    add_authority(w)
    client = _admin(app, w)
    assert client.get("/staff/authorities/99999").status_code == 404
    page_url = f"/staff/authorities/{w.authority.id}"
    for url in ("/staff/authorities/99999/schools", f"{page_url}/schools/99999/remove",
                f"{page_url}/partnerships/99999/remove", f"{page_url}/staff/99999/remove"):
        assert _post(client, page_url, url, {"urn": w.school.urn}).status_code == 404, url
    # A real row that is not this authority's is refused in words, not removed.
    before = _counts()
    lone = Partnership(name="Unbrokered")
    db.session.add(lone)
    db.session.commit()
    resp = _post(client, page_url, f"{page_url}/partnerships/{lone.id}/remove", {}, follow=True)
    assert "did not broker Unbrokered" in resp.text
    resp = _post(client, page_url, f"{page_url}/staff/{w.lead.id}/remove", {}, follow=True)
    assert "is not on Test Authority" in resp.text
    after = _counts()
    assert after == before


@pytest.mark.parametrize("role", ["teacher", "lead", "authority", "anonymous"])
def test_only_administrators_may_open_or_post(app, staff_world, role):
    w = staff_world
    add_authority(w)
    client = app.test_client()
    if role != "anonymous":
        login_as(client, {"teacher": w.teacher, "lead": w.lead, "authority": w.authority_user}[role])
    page_url = f"/staff/authorities/{w.authority.id}"
    before = _counts()
    token = csrf_from(client.get("/staff/sign-in").text) if role == "anonymous" else csrf_from(
        client.get("/staff/").text if role != "authority" else client.get("/staff/authority/").text)
    for url, method in ((LIST, "get"), (page_url, "get"), (LIST, "post"), (f"{page_url}/schools", "post"),
                        (f"{page_url}/staff/{w.authority_user.id}/remove", "post")):
        resp = getattr(client, method)(url, data={"name": "Sneaky", "urn": "200001", "csrf_token": token})
        if role == "anonymous":
            assert resp.status_code == 302 and "/staff/sign-in" in resp.location, url
        else:
            assert resp.status_code == 403, (url, method)
    assert _counts() == before


def test_posts_without_csrf_are_refused(app, staff_world):
    w = staff_world
    add_authority(w)
    client = _admin(app, w)
    page_url = f"/staff/authorities/{w.authority.id}"
    before = _counts()
    for url, data in ((LIST, {"name": "No Token"}), (f"{page_url}/schools", {"urn": w.school.urn}),
                      (f"{page_url}/staff/new", {"new_email": "x@example.org"}),
                      (f"{page_url}/partnerships/{w.partnership.id}/remove", {})):
        assert client.post(url, data=data).status_code == 400, url
    assert _counts() == before


def test_the_admin_menu_links_to_authorities_and_the_account_form_points_there(app, staff_world):
    client = _admin(app, staff_world)
    assert 'href="/staff/authorities/"' in client.get("/staff/admin/staff").text
    teacher = app.test_client()
    login_as(teacher, staff_world.teacher)
    assert 'href="/staff/authorities/"' not in teacher.get("/staff/").text
    from survey_app.accounts.operations import AdminError, Place, create_account
    from survey_app.models.base import utcnow

    with pytest.raises(AdminError, match="Authorities"):
        create_account(db.session, staff_world.admin, "a@example.org", "A", "authority",
                       Place(school=staff_world.school), None, utcnow())
    db.session.rollback()
