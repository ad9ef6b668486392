"""Schools and pupils pages: lists, the partnership view, editing, archiving, history, access."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import ChangeLog, Pupil, School
from survey_app.models.base import utcnow
from survey_app.models.upn import make_upn
from survey_app.pupil.codes import check_code
from tests.conftest import csrf_from, login_as


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def post_form(client, url, data, page_url=None):
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_from(page.text), **data})


# ----- access ------------------------------------------------------------------------------


def urls(w):
    pupil = w.pupils[0].id
    return [
        "/staff/schools/", f"/staff/schools/partnerships/{w.partnership.id}", "/staff/schools/new",
        f"/staff/schools/{w.school.id}", f"/staff/schools/{w.school.id}/edit",
        f"/staff/schools/{w.school.id}/pupils", f"/staff/schools/pupils/{pupil}",
        f"/staff/schools/pupils/{pupil}/edit", "/staff/schools/import",
    ]


@pytest.mark.parametrize("role, expected", [
    ("admin", [200] * 9),
    ("lead", [200] * 9),
    # A school's own lead: other schools and their pupils are "not found"; adding schools is
    # for partnership leads and admins.
    ("other_lead", [200, 404, 403, 404, 404, 404, 404, 404, 200]),
    ("teacher", [403] * 9),
    ("anonymous", [302] * 9),
])
def test_access_matrix(client, staff_world, role, expected):
    if role != "anonymous":
        login_as(client, getattr(staff_world, role))
    got = [client.get(url).status_code for url in urls(staff_world)]
    assert got == expected
    if role == "anonymous":
        assert "/staff/sign-in?next=" in client.get("/staff/schools/").location


def test_posts_from_outside_the_scope(client, staff_world):
    login_as(client, staff_world.other_lead)
    page = client.get("/staff/schools/")
    token = csrf_from(page.text)
    pupil = staff_world.pupils[0]
    assert client.post(f"/staff/schools/pupils/{pupil.id}/archive", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/staff/schools/pupils/{pupil.id}/edit", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/staff/schools/{staff_world.school.id}/edit",
                       data={"csrf_token": token, "name": "Mine", "urn": "123456"}).status_code == 404
    login_as(client, staff_world.teacher)
    token = csrf_from(client.get("/staff/").text)
    assert client.post(f"/staff/schools/pupils/{pupil.id}/archive", data={"csrf_token": token}).status_code == 403
    db.session.refresh(pupil)
    assert pupil.archived is False and staff_world.school.name == "Test School"


# ----- schools -----------------------------------------------------------------------------


def test_school_list_shows_counts_and_partnership(client, staff_world):
    login_as(client, staff_world.lead)
    page = client.get("/staff/schools/")
    assert "Test School" in page.text and "Second School" in page.text and "Elsewhere" not in page.text
    assert '<td class="num">4</td>' in page.text and '<td class="num">1</td>' in page.text
    assert "Test Partnership" in page.text and "Add a school" in page.text
    login_as(client, staff_world.admin)
    page = client.get("/staff/schools/")
    assert "Elsewhere Academy" in page.text and "Stands alone" in page.text
    login_as(client, staff_world.other_lead)
    page = client.get("/staff/schools/")
    assert "Elsewhere Academy" in page.text and "Test School" not in page.text and "Add a school" not in page.text


def test_partnership_view_counts_by_year_group(client, staff_world):
    login_as(client, staff_world.lead)
    staff_world.pupils[3].archived = True  # archived pupils are not counted
    db.session.commit()
    page = client.get(f"/staff/schools/partnerships/{staff_world.partnership.id}")
    assert page.status_code == 200 and "<h1>Test Partnership</h1>" in page.text
    # Test School: years 7, 8, 9 (one each, the year 10 pupil archived); Second School: one in year 9.
    assert '<abbr title="Year 7">Y7</abbr>' in page.text and "Y10" not in page.text
    assert '<span class="stat-n">4</span> pupils on roll' in page.text
    login_as(client, staff_world.other_lead)
    assert client.get(f"/staff/schools/partnerships/{staff_world.partnership.id}").status_code == 404


def test_lead_creates_a_school_in_their_partnership(client, staff_world):
    login_as(client, staff_world.lead)
    resp = post_form(client, "/staff/schools/new", {"name": "  New  Primary ", "urn": "123456"})
    assert resp.status_code == 302
    school = db.session.scalar(sa.select(School).where(School.urn == "123456"))
    assert school.name == "New Primary" and school.partnership_id == staff_world.partnership.id
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.entity == "school",
                                                         ChangeLog.entity_id == school.id))
    assert entry.action == "created" and entry.staff_id == staff_world.lead.id
    assert "New Primary" in client.get("/staff/schools/").text


def test_admin_creates_a_standalone_school(client, staff_world):
    login_as(client, staff_world.admin)
    resp = post_form(client, "/staff/schools/new", {"name": "Solo School", "urn": "54321", "partnership": "0"})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(School.partnership_id).where(School.urn == "54321")) is None


BAD_SCHOOLS = [
    ("A School", "1234", "A URN is 5 to 7 digits"),
    ("A School", "12345678", "A URN is 5 to 7 digits"),
    ("A School", "12a456", "A URN is 5 to 7 digits"),
    ("A School", "", "Give the school&#39;s URN."),
    ("", "123456", "Give the school&#39;s name."),
    ("A School", "100002", "Another school already has URN 100002."),
    ("x" * 201, "123456", "200 characters"),
]


def test_school_form_refuses_bad_values(client, staff_world):
    login_as(client, staff_world.lead)
    for name, urn, message in BAD_SCHOOLS:
        resp = post_form(client, "/staff/schools/new", {"name": name, "urn": urn})
        assert resp.status_code == 400 and message in resp.text, (name, urn)
        assert "The school was not saved" in resp.text
    assert count(School) == 3 and count(ChangeLog) == 0


def test_edit_school_name_and_urn(client, staff_world):
    login_as(client, staff_world.lead)
    url = f"/staff/schools/{staff_world.school.id}/edit"
    bad = post_form(client, url, {"name": "Renamed", "urn": "200001"})
    assert bad.status_code == 400 and "Another school already has URN 200001." in bad.text
    db.session.expire_all()
    assert staff_world.school.name == "Test School"
    same = post_form(client, url, {"name": "Test School", "urn": "100001"})
    assert same.status_code == 302  # its own URN is not "taken"
    ok = post_form(client, url, {"name": "Renamed School", "urn": "1000011"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert (staff_world.school.name, staff_world.school.urn) == ("Renamed School", "1000011")
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.action == "edited", ChangeLog.entity == "school"))
    assert entry.changes == {"name": ["Test School", "Renamed School"], "urn": ["100001", "1000011"]}


def test_list_schools_command(runner, staff_world):
    result = runner.invoke(args=["list-schools"])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["100001  Test School", "100002  Second School",
                                          "200001  Elsewhere Academy"]


# ----- pupils --------------------------------------------------------------------------------


def add_pupils(school, n):
    now = utcnow()
    db.session.execute(sa.insert(Pupil), [
        {"school_id": school.id, "upn": make_upn(555, 1000, 21, i), "first_name": f"Kid{i:03d}",
         "surname": f"Many{i:03d}", "year_group": 3 + i % 2, "reg_group": f"{3 + i % 2}{'AB'[i % 2]}",
         "created_at": now, "updated_at": now} for i in range(n)])
    db.session.commit()


def test_pupil_list_search_filters_and_pages(client, staff_world):
    add_pupils(staff_world.school, 120)
    login_as(client, staff_world.lead)
    base = f"/staff/schools/{staff_world.school.id}/pupils"
    first = client.get(base)
    assert first.status_code == 200 and "showing 1–50 of 124 pupils" in first.text
    assert first.text.count('href="/staff/schools/pupils/') == 50
    third = client.get(base + "?page=3")
    assert "showing 101–124 of 124" in third.text
    assert "showing 101–124" in client.get(base + "?page=99").text  # past the end: the last page
    by_name = client.get(base + "?q=pupil2")
    assert "of 1 pupil" in by_name.text and "Tester, Pupil2" in by_name.text
    full_name = client.get(base + "?q=Pupil1+Tester")
    assert "Tester, Pupil1" in full_name.text and "of 1 pupil" in full_name.text
    upn = staff_world.pupils[3].upn
    assert "Tester, Pupil3" in client.get(base + f"?q={upn[-6:].lower()}").text
    year = client.get(base + "?year=4")
    assert "of 60 pupils" in year.text
    reg = client.get(base + "?reg=3A&year=3")
    assert "of 60 pupils" in reg.text
    assert "of 0" not in client.get(base + "?q=%25").text and "No pupils match" in client.get(base + "?q=%25").text
    paged = client.get(base + "?year=3&page=2")
    assert "showing 51–60 of 60" in paged.text and "year=3" in paged.text  # links keep the filters


BAD_SEARCHES = [
    ("year=15", "Choose a year group from Reception to Year 14."),
    ("year=seven", "Choose a year group from Reception to Year 14."),
    ("reg=ZZ", "Choose a reg group from the list."),
    ("status=gone", "Not a valid choice"),
    ("page=0", "Pages start at 1."),
    ("page=two", "Not a valid integer value."),
]


def test_bad_search_values_answer_400(client, staff_world):
    login_as(client, staff_world.lead)
    for query, message in BAD_SEARCHES:
        resp = client.get(f"/staff/schools/{staff_world.school.id}/pupils?{query}")
        assert resp.status_code == 400 and message in resp.text, query
        assert "Please correct the search" in resp.text


def test_archived_pupils_are_hidden_by_default(client, staff_world):
    staff_world.pupils[0].archived = True
    db.session.commit()
    login_as(client, staff_world.lead)
    base = f"/staff/schools/{staff_world.school.id}/pupils"
    assert "Pupil0" not in client.get(base).text
    archived = client.get(base + "?status=archived")
    assert "Tester, Pupil0" in archived.text and "of 1 pupil" in archived.text
    assert "of 4 pupils" in client.get(base + "?status=all").text


def test_pupil_page_shows_details_groups_and_history(client, staff_world):
    login_as(client, staff_world.lead)
    pupil = staff_world.pupils[1]
    page = client.get(f"/staff/schools/pupils/{pupil.id}")
    assert page.status_code == 200
    assert pupil.upn in page.text and "Year 8" in page.text and "Group A" in page.text
    assert "No changes have been recorded" in page.text


def test_edit_pupil_records_the_change(client, staff_world):
    login_as(client, staff_world.lead)
    pupil = staff_world.pupils[0]
    url = f"/staff/schools/pupils/{pupil.id}/edit"
    resp = post_form(client, url, {"first_name": "Pip ", "surname": "Tester", "year_group": "0",
                                   "reg_group": " RB ", "gender": "Female", "sen": "E", "fsm": "y"})
    assert resp.status_code == 302
    db.session.refresh(pupil)
    assert (pupil.first_name, pupil.year_group, pupil.reg_group, pupil.gender, pupil.sen, pupil.fsm, pupil.eal) \
        == ("Pip", 0, "RB", "Female", "E", True, False)
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.entity == "pupil", ChangeLog.entity_id == pupil.id))
    assert entry.action == "edited" and entry.staff_id == staff_world.lead.id
    assert entry.changes == {"first_name": ["Pupil0", "Pip"], "year_group": [7, 0], "reg_group": [None, "RB"],
                             "gender": [None, "Female"], "sen": ["N", "E"], "fsm": [False, True]}
    history = client.get(f"/staff/schools/pupils/{pupil.id}").text
    assert "Edited" in history and "Year group:</span> Year 7" in history and "Reception" in history
    assert "Lead" in history  # who
    again = post_form(client, url, {"first_name": "Pip", "surname": "Tester", "year_group": "0",
                                    "reg_group": "RB", "gender": "Female", "sen": "E", "fsm": "y"})
    assert again.status_code == 302 and count(ChangeLog, ChangeLog.entity == "pupil") == 1


BAD_EDITS = [
    ({"year_group": "15"}, "Choose a year group from Reception to Year 14."),
    ({"year_group": "x"}, "Choose a year group from Reception to Year 14."),
    ({"year_group": ""}, "Choose a year group from Reception to Year 14."),
    ({"surname": "  "}, "Give the pupil&#39;s surname."),
    ({"first_name": ""}, "Give the pupil&#39;s first name."),
    ({"sen": "X"}, "Choose N (none), K (SEN support) or E (EHC plan)."),
    ({"reg_group": "R" * 21}, "Field cannot be longer than 20 characters."),
    ({"gender": "Q"}, "Not a valid choice"),
    ({"first_name": "x" * 101}, "Field cannot be longer than 100 characters."),
]


def test_edit_pupil_refuses_bad_values(client, staff_world):
    login_as(client, staff_world.lead)
    pupil = staff_world.pupils[0]
    good = {"first_name": "Pupil0", "surname": "Tester", "year_group": "7", "reg_group": "", "gender": "",
            "sen": "N"}
    for changes, message in BAD_EDITS:
        resp = post_form(client, f"/staff/schools/pupils/{pupil.id}/edit", {**good, **changes})
        assert resp.status_code == 400 and message in resp.text, changes
        assert "Nothing was saved" in resp.text
    db.session.refresh(pupil)
    assert (pupil.first_name, pupil.surname, pupil.year_group, pupil.sen) == ("Pupil0", "Tester", 7, "N")
    assert count(ChangeLog) == 0


def test_edit_keeps_a_gender_as_the_school_system_wrote_it(client, staff_world):
    pupil = staff_world.pupils[0]
    pupil.gender = "U"
    db.session.commit()
    login_as(client, staff_world.lead)
    url = f"/staff/schools/pupils/{pupil.id}/edit"
    assert '<option selected value="U">U</option>' in client.get(url).text
    resp = post_form(client, url, {"first_name": "Pupil0", "surname": "Tester", "year_group": "7",
                                   "gender": "U", "sen": "N"})
    assert resp.status_code == 302 and count(ChangeLog) == 0


def test_archive_and_unarchive(client, staff_world):
    login_as(client, staff_world.lead)
    pupil = staff_world.pupils[0]
    page = client.get(f"/staff/schools/pupils/{pupil.id}")
    assert client.post(f"/staff/schools/pupils/{pupil.id}/archive").status_code == 400  # no CSRF token
    db.session.refresh(pupil)
    assert pupil.archived is False
    resp = client.post(f"/staff/schools/pupils/{pupil.id}/archive", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    db.session.refresh(pupil)
    assert pupil.archived is True
    assert check_code(db.session, staff_world.code_of(0), utcnow()).problem == "unknown"  # cannot sign in
    shown = client.get(f"/staff/schools/pupils/{pupil.id}").text
    assert "Bring back on roll" in shown and "Archived" in shown
    assert "Pupil0" not in client.get(f"/staff/schools/{staff_world.school.id}/pupils").text
    back = client.post(f"/staff/schools/pupils/{pupil.id}/unarchive", data={"csrf_token": csrf_from(shown)})
    assert back.status_code == 302
    db.session.refresh(pupil)
    assert pupil.archived is False
    actions = db.session.scalars(sa.select(ChangeLog.action).where(ChangeLog.entity_id == pupil.id)
                                 .order_by(ChangeLog.id)).all()
    assert actions == ["archived", "unarchived"]
    assert check_code(db.session, staff_world.code_of(0), utcnow()).problem != "unknown"


def test_user_text_is_escaped(client, staff_world):
    pupil = staff_world.pupils[0]
    pupil.first_name = "<script>alert(1)</script>"
    db.session.commit()
    login_as(client, staff_world.lead)
    for url in (f"/staff/schools/pupils/{pupil.id}", f"/staff/schools/{staff_world.school.id}/pupils"):
        text = client.get(url).text
        assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text
