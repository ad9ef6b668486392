"""Groups: list, page, create/edit/archive, adding pupils across schools, codes, history, scope."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AccessCode, ChangeLog, Group, Pupil, group_members, group_staff
from survey_app.models.upn import make_upn
from tests.conftest import csrf_from, login_as


def members(group_id: int) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(group_members.c.pupil_id).where(
        group_members.c.group_id == group_id)))


def history(group_id: int) -> list[ChangeLog]:
    return list(db.session.scalars(sa.select(ChangeLog).where(
        ChangeLog.entity == "group", ChangeLog.entity_id == group_id).order_by(ChangeLog.id)))


def token(client, url="/staff/groups/") -> str:
    return csrf_from(client.get(url).text)


def add_pupil(w, school, year, first, serial, reg=None) -> Pupil:
    pupil = Pupil(school=school, upn=make_upn(201, 4002, 13, serial), first_name=first, surname="Added",
                  year_group=year, reg_group=reg)
    db.session.add(pupil)
    db.session.commit()
    return pupil


def new_group(w, owner=None, **extra) -> Group:
    group = Group(name=extra.pop("name", "Reading Buddies"), kind="programme",
                  partnership_id=w.partnership.id if owner is None else None,
                  school_id=owner.id if owner is not None else None, **extra)
    db.session.add(group)
    db.session.commit()
    return group


# ----- seeing groups -------------------------------------------------------------------


def test_list_shows_groups_in_scope_with_counts(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    page = client.get("/staff/groups/")
    assert page.status_code == 200
    assert "Group A" in page.text and "Group B" not in page.text
    row = page.text[page.text.index("Group A"):]
    # 5 pupils, 2 schools, year groups 7 to 10 (Sam Second is in year 9), lead teacher "Teacher".
    assert ">5<" in row and ">2<" in row and "7, 8, 9, 10" in row and "Teacher" in row
    assert "Test Partnership" in row
    login_as(client, w.admin)
    page = client.get("/staff/groups/")
    assert "Group A" in page.text and "Group B" in page.text and "Elsewhere Academy" in page.text


def test_teacher_sees_own_group_read_only_and_nothing_else(client, staff_world):
    w = staff_world
    login_as(client, w.teacher)
    page = client.get(f"/staff/groups/{w.group.id}")
    assert page.status_code == 200
    assert "Sam Second" in page.text and "Second School" in page.text
    assert "Lead teacher" in page.text and "Before" in page.text  # staff and rounds
    assert "Remove selected" not in page.text and "Add pupils" not in page.text
    assert client.get("/staff/groups/").text.count("/staff/groups/") >= 1
    assert client.get(f"/staff/groups/{w.group_b.id}").status_code == 404
    assert client.get("/staff/groups/new").status_code == 403
    assert client.get(f"/staff/groups/{w.group.id}/edit").status_code == 403
    assert client.get(f"/staff/groups/{w.group.id}/pupils/add").status_code == 403
    tok = csrf_from(page.text)
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/remove",
                       data={"csrf_token": tok, "pupil_ids": [w.pupil2.id]})
    assert resp.status_code == 403 and w.pupil2.id in members(w.group.id)


def test_other_schools_lead_gets_not_found(client, staff_world):
    w = staff_world
    login_as(client, w.other_lead)
    tok = token(client)
    assert client.get(f"/staff/groups/{w.group.id}").status_code == 404
    assert client.get(f"/staff/groups/{w.group.id}/edit").status_code == 404
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/add",
                       data={"csrf_token": tok, "pupil_ids": [w.other_pupil.id]})
    assert resp.status_code == 404 and w.other_pupil.id not in members(w.group.id)
    assert client.post(f"/staff/groups/{w.group.id}/archive", data={"csrf_token": tok}).status_code == 404


# ----- creating and editing ------------------------------------------------------------


def group_form(w, **values):
    data = {"name": "Year 8 mentoring", "kind": "programme", "description": "Weekly sessions",
            "owner": f"partnership:{w.partnership.id}", "lead_id": "0"}
    data.update(values)
    return data


def test_create_group_with_staff(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    page = client.get("/staff/groups/new")
    assert page.status_code == 200
    # The lead may choose their partnership or one of its schools, never Elsewhere.
    assert "Test Partnership" in page.text and "Second School" in page.text
    assert "Elsewhere Academy" not in page.text and "Teacherb" not in page.text
    resp = client.post("/staff/groups/new", data={
        "csrf_token": csrf_from(page.text),
        **group_form(w, lead_id=str(w.teacher.id), staff_ids=[str(w.lead.id)])})
    assert resp.status_code == 302 and "/pupils/add" in resp.location
    group = db.session.scalar(sa.select(Group).where(Group.name == "Year 8 mentoring"))
    assert group.partnership_id == w.partnership.id and group.description == "Weekly sessions"
    staff = dict(db.session.execute(sa.select(group_staff.c.staff_id, group_staff.c.is_lead).where(
        group_staff.c.group_id == group.id)).all())
    assert staff == {w.teacher.id: True, w.lead.id: False}
    [entry] = history(group.id)
    assert entry.action == "created" and entry.staff_id == w.lead.id


def test_create_group_refuses_bad_values_and_changes_nothing(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    tok = token(client, "/staff/groups/new")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Group))
    cases = [
        (group_form(w, name="  "), "Give the group a name."),
        (group_form(w, owner=f"school:{w.other_school.id}"), "Choose your partnership or one of"),
        (group_form(w, kind="club"), "Choose programme or class"),
        (group_form(w, name="x" * 201), "200 characters"),
        # A teacher of Test School cannot lead a group of Second School.
        (group_form(w, owner=f"school:{w.school2.id}", lead_id=str(w.teacher.id)), "must work at Second School"),
        (group_form(w, staff_ids=[str(w.teacher_b.id)]), "Choose staff from the list"),
        (group_form(w, name="group a"), "already a group called"),
    ]
    for data, message in cases:
        resp = client.post("/staff/groups/new", data={"csrf_token": tok, **data})
        assert resp.status_code == 400, data
        assert message in resp.text, (message, data)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == before


def test_post_without_csrf_is_refused(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    for url, data in [
        ("/staff/groups/new", group_form(w)),
        (f"/staff/groups/{w.group.id}/edit", group_form(w, name="Renamed")),
        (f"/staff/groups/{w.group.id}/pupils/add", {"pupil_ids": [w.pupils[0].id]}),
        (f"/staff/groups/{w.group.id}/pupils/add-class", {"school_id": w.school2.id, "year_group": "9"}),
        (f"/staff/groups/{w.group.id}/pupils/remove", {"pupil_ids": [w.pupil2.id]}),
        (f"/staff/groups/{w.group.id}/archive", {}),
    ]:
        assert client.post(url, data=data).status_code == 400, url
    db.session.expire_all()
    assert w.group.name == "Group A" and not w.group.archived and w.pupil2.id in members(w.group.id)
    assert history(w.group.id) == []


def test_edit_group_records_fields_and_staff(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    page = client.get(f"/staff/groups/{w.group.id}/edit")
    assert page.status_code == 200 and 'value="Group A"' in page.text
    resp = client.post(f"/staff/groups/{w.group.id}/edit", data={
        "csrf_token": csrf_from(page.text),
        **group_form(w, name="Group A (spring)", kind="class", lead_id=str(w.lead.id),
                     staff_ids=[str(w.teacher.id)])})
    assert resp.status_code == 302
    db.session.expire_all()
    assert w.group.name == "Group A (spring)" and w.group.kind == "class"
    staff = dict(db.session.execute(sa.select(group_staff.c.staff_id, group_staff.c.is_lead).where(
        group_staff.c.group_id == w.group.id)).all())
    assert staff == {w.lead.id: True, w.teacher.id: False}
    actions = [e.action for e in history(w.group.id)]
    assert actions == ["edited", "changed staff"]
    page = client.get(f"/staff/groups/{w.group.id}")
    assert "Edited" in page.text and "“Group A” → “Group A (spring)”" in page.text
    assert "Lead teacher: Teacher → Lead" in page.text


def test_owner_cannot_change_while_pupils_of_other_schools_are_in(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    tok = token(client, f"/staff/groups/{w.group.id}/edit")
    resp = client.post(f"/staff/groups/{w.group.id}/edit", data={
        "csrf_token": tok, **group_form(w, name="Group A", owner=f"school:{w.school.id}")})
    assert resp.status_code == 400 and "pupils from Second School" in resp.text
    db.session.expire_all()
    assert w.group.partnership_id == w.partnership.id and w.group.school_id is None


def test_archive_and_unarchive(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    tok = token(client)
    assert client.post(f"/staff/groups/{w.group.id}/archive", data={"csrf_token": tok}).status_code == 302
    assert ">Group A</a>" not in client.get("/staff/groups/").text
    assert ">Group A</a>" in client.get("/staff/groups/?archived=1").text
    page = client.get(f"/staff/groups/{w.group.id}")
    assert "Unarchive group" in page.text and "Remove selected" not in page.text
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/add",
                       data={"csrf_token": tok, "pupil_ids": [w.pupils[0].id]})
    assert resp.status_code == 400 and "archived" in resp.text
    assert client.post(f"/staff/groups/{w.group.id}/unarchive", data={"csrf_token": tok}).status_code == 302
    db.session.expire_all()
    assert not w.group.archived
    assert [e.action for e in history(w.group.id)] == ["archived", "unarchived"]


def test_user_text_is_escaped(client, staff_world):
    w = staff_world
    w.group.name = "<script>alert(1)</script>"
    w.group.description = "<b>bold</b>"
    db.session.commit()
    login_as(client, w.lead)
    for url in ("/staff/groups/", f"/staff/groups/{w.group.id}", f"/staff/groups/{w.group.id}/edit"):
        text = client.get(url).text
        assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text, url
    assert "<b>bold</b>" not in client.get(f"/staff/groups/{w.group.id}").text


# ----- adding and removing pupils -------------------------------------------------------


def test_add_pupils_by_search_across_schools_and_year_groups(client, staff_world):
    w = staff_world
    group = new_group(w)
    extra = add_pupil(w, w.school2, 11, "Zed", 2)
    login_as(client, w.lead)
    page = client.get(f"/staff/groups/{group.id}/pupils/add?q=second")
    assert page.status_code == 200 and "Sam Second" in page.text and "Pupil0" not in page.text
    page = client.get(f"/staff/groups/{group.id}/pupils/add?q={w.pupils[1].upn.lower()}")
    assert "Pupil1" in page.text and "Pupil0" not in page.text
    # Listing one year group of one school needs no words.
    page = client.get(f"/staff/groups/{group.id}/pupils/add?school={w.school2.id}&year=11")
    assert "Zed Added" in page.text and "Sam Second" not in page.text
    # Pupils of Elsewhere Academy are never offered to the partnership's lead.
    assert "Olu" not in client.get(f"/staff/groups/{group.id}/pupils/add?q=o").text
    ids = [w.pupils[0].id, w.pupils[2].id, w.pupil2.id, extra.id]
    resp = client.post(f"/staff/groups/{group.id}/pupils/add?q=second",
                       data={"csrf_token": csrf_from(page.text), "pupil_ids": ids})
    assert resp.status_code == 302 and "q=second" in resp.location
    assert members(group.id) == set(ids)
    page = client.get(resp.location)
    assert "Added 4 pupils" in page.text and "In group" in page.text
    [entry] = history(group.id)
    assert entry.action == "added pupils" and entry.changes["count"] == 4
    assert sorted(entry.changes["pupil_ids"]) == sorted(ids)
    years = {p.year_group for p in db.session.scalars(sa.select(Pupil).where(Pupil.id.in_(ids)))}
    assert len(years) >= 3
    # The same pupils again: nothing happens and nothing is an error.
    resp = client.post(f"/staff/groups/{group.id}/pupils/add",
                       data={"csrf_token": csrf_from(page.text), "pupil_ids": ids[:2]})
    assert resp.status_code == 302 and members(group.id) == set(ids)
    assert "2 pupils were already in the group" in client.get(resp.location).text
    assert len(history(group.id)) == 1
    # The page shows them, with their schools, and the history names them.
    page = client.get(f"/staff/groups/{group.id}")
    assert "Sam Second" in page.text and "Zed Added" in page.text and "Second School" in page.text
    assert "Added pupils" in page.text and "4 pupils:" in page.text


def test_pupils_out_of_scope_are_not_found_and_nothing_is_written(client, staff_world):
    w = staff_world
    group = new_group(w)
    school_group = new_group(w, owner=w.school, name="Test School class")
    login_as(client, w.lead)
    tok = token(client)
    for gid, ids in [(group.id, [w.pupils[0].id, w.other_pupil.id]),  # Elsewhere pupil
                     (group.id, [w.pupils[0].id, 10**8]),  # no such pupil
                     (school_group.id, [w.pupils[0].id, w.pupil2.id])]:  # Second School pupil
        resp = client.post(f"/staff/groups/{gid}/pupils/add", data={"csrf_token": tok, "pupil_ids": ids})
        assert resp.status_code == 404, ids
        assert members(gid) == set()
    resp = client.post(f"/staff/groups/{group.id}/pupils/add", data={"csrf_token": tok, "pupil_ids": ["x"]})
    assert resp.status_code == 400 and members(group.id) == set()
    resp = client.post(f"/staff/groups/{group.id}/pupils/add", data={"csrf_token": tok})
    assert resp.status_code == 400 and "Tick at least one pupil" in resp.text
    assert history(group.id) == [] and history(school_group.id) == []


def test_add_whole_year_group_or_registration_group(client, staff_world):
    w = staff_world
    group = new_group(w)
    a = add_pupil(w, w.school2, 8, "Amy", 3, reg="8C")
    b = add_pupil(w, w.school2, 8, "Bo", 4, reg="8D")
    c = add_pupil(w, w.school, 9, "Cy", 5, reg="9B")
    add_pupil(w, w.school2, 9, "Di", 6, reg="9B")
    login_as(client, w.lead)
    page = client.get(f"/staff/groups/{group.id}/pupils/add")
    assert "Add a whole year group" in page.text and 'value="9B"' in page.text  # datalist
    tok = csrf_from(page.text)
    resp = client.post(f"/staff/groups/{group.id}/pupils/add-class",
                       data={"csrf_token": tok, "school_id": w.school2.id, "year_group": "8", "reg_group": ""})
    assert resp.status_code == 302 and members(group.id) == {a.id, b.id}
    resp = client.post(f"/staff/groups/{group.id}/pupils/add-class",
                       data={"csrf_token": tok, "school_id": w.school.id, "year_group": "", "reg_group": "9b"})
    assert resp.status_code == 302 and members(group.id) == {a.id, b.id, c.id}
    assert "Added 1 pupil " in client.get(resp.location).text
    entries = history(group.id)
    assert [e.changes["by"]["school"] for e in entries] == ["Second School", "Test School"]
    assert entries[1].changes["by"]["reg_group"] == "9b"
    # Neither a year nor a registration group, a school outside the partnership, nobody matching.
    for data, message in [
        ({"school_id": w.school2.id, "year_group": "", "reg_group": ""}, "Choose a year group"),
        ({"school_id": w.other_school.id, "year_group": "8"}, "Choose one of the schools listed"),
        ({"school_id": w.school2.id, "year_group": "8", "reg_group": "ZZ"}, "No pupils match"),
    ]:
        resp = client.post(f"/staff/groups/{group.id}/pupils/add-class", data={"csrf_token": tok, **data})
        assert resp.status_code == 400 and message in resp.text, data
    assert members(group.id) == {a.id, b.id, c.id} and len(history(group.id)) == 2


def test_pupil_added_during_an_open_round_gets_a_code(client, staff_world):
    w = staff_world
    newcomer = add_pupil(w, w.school2, 10, "Nia", 7)
    login_as(client, w.lead)
    tok = token(client)
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/add",
                       data={"csrf_token": tok, "pupil_ids": [newcomer.id]})
    assert resp.status_code == 302
    code = db.session.scalar(sa.select(AccessCode).where(
        AccessCode.pupil_id == newcomer.id, AccessCode.round_id == w.round.id))
    assert code is not None and len(code.code) == 8
    assert "1 access code made" in client.get(resp.location).text
    assert history(w.group.id)[-1].changes["codes_issued"] == 1


def test_remove_pupils(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    page = client.get(f"/staff/groups/{w.group.id}")
    assert 'name="pupil_ids"' in page.text and "Remove selected pupils" in page.text
    tok = csrf_from(page.text)
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/remove",
                       data={"csrf_token": tok, "pupil_ids": [w.pupil2.id, w.pupils[0].id]})
    assert resp.status_code == 302
    assert members(w.group.id) == {p.id for p in w.pupils[1:]}
    [entry] = history(w.group.id)
    assert entry.action == "removed pupils" and entry.changes["count"] == 2
    # A pupil not in the group is not found; no tick is a message on the page.
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/remove",
                       data={"csrf_token": tok, "pupil_ids": [w.pupils[1].id, w.pupil2.id]})
    assert resp.status_code == 404 and w.pupils[1].id in members(w.group.id)
    resp = client.post(f"/staff/groups/{w.group.id}/pupils/remove", data={"csrf_token": tok})
    assert resp.status_code == 400 and "Tick at least one pupil to remove" in resp.text


def test_pupils_can_be_in_several_groups(client, staff_world):
    w = staff_world
    group = new_group(w)
    login_as(client, w.admin)
    tok = token(client)
    resp = client.post(f"/staff/groups/{group.id}/pupils/add",
                       data={"csrf_token": tok, "pupil_ids": [w.pupil2.id]})
    assert resp.status_code == 302
    assert w.pupil2.id in members(group.id) and w.pupil2.id in members(w.group.id)
