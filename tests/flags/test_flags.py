"""Custom pupil flags: scope, the flag pages, setting flags on pupils, the pupil edit page
(flags and leaving date) and the roster import's flags and leaving-date columns."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound
from werkzeug.test import stream_encode_multipart

from survey_app.accounts.scope import Scope
from survey_app.db import db
from survey_app.flags import operations as service
from survey_app.flags.operations import FlagError
from survey_app.models import ChangeLog, Pupil, PupilFlag, StaffUser, pupil_flag_members
from survey_app.models.upn import make_upn
from survey_app.schools.roster import apply_import, preview_import
from survey_app.schools.roster_csv import parse_roster
from tests.conftest import csrf_from, login_as

NEW_UPN = make_upn(201, 4000, 16, 1)  # well formed, not in the staff world


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def members(flag_id: int) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(pupil_flag_members.c.pupil_id).where(
        pupil_flag_members.c.flag_id == flag_id)))


def flag_ids_of(pupil_id: int) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(pupil_flag_members.c.flag_id).where(
        pupil_flag_members.c.pupil_id == pupil_id)))


def entries(entity: str, entity_id: int) -> list[ChangeLog]:
    return list(db.session.scalars(sa.select(ChangeLog).where(
        ChangeLog.entity == entity, ChangeLog.entity_id == entity_id).order_by(ChangeLog.id)))


def post_form(client, url, data, page_url=None):
    page = client.get(page_url or url)
    assert page.status_code == 200, (page_url or url, page.status_code)
    return client.post(url, data={"csrf_token": csrf_from(page.text), **data})


class Flags:
    """The staff world plus flags: P (the partnership's), S1 (Test School's), S2 (Second
    School's), O (Elsewhere Academy's), and a lead of Second School (in the partnership)."""

    def __init__(self, w):
        self.w = w
        self.p = PupilFlag(name="Mentored", partnership_id=w.partnership.id)
        self.s1 = PupilFlag(name="Young carer", school_id=w.school.id)
        self.s2 = PupilFlag(name="Choir", school_id=w.school2.id)
        self.o = PupilFlag(name="Sports squad", school_id=w.other_school.id)
        self.school2_lead = StaffUser(email="lead2@example.org", name="Lead Two", role="lead",
                                      password_hash=w.lead.password_hash, school_id=w.school2.id)
        db.session.add_all([self.p, self.s1, self.s2, self.o, self.school2_lead])
        db.session.commit()


@pytest.fixture
def fw(staff_world):
    return Flags(staff_world)


def names(flags) -> set[str]:
    return {f.name for f in flags}


# ----- scope ---------------------------------------------------------------------------------


def test_who_sees_and_manages_which_flags(fw):
    w = fw.w
    every = {"Mentored", "Young carer", "Choir", "Sports squad"}
    seen = {
        w.admin: every,
        w.lead: {"Mentored", "Young carer", "Choir"},
        w.other_lead: {"Sports squad"},
        fw.school2_lead: {"Mentored", "Choir"},  # its school's, and its partnership's
        w.teacher: {"Mentored", "Young carer", "Choir"},  # group A mixes both partnership schools
        w.teacher_b: {"Sports squad"},
    }
    managed = {w.admin: every, w.lead: {"Mentored", "Young carer", "Choir"},
               w.other_lead: {"Sports squad"}, fw.school2_lead: {"Choir"},
               w.teacher: set(), w.teacher_b: set()}
    for user, expected in seen.items():
        scope = Scope(user)
        assert names(service.flags_in_scope(db.session, scope)) == expected, user.email
        managed_now = {f.name for f in service.flags_in_scope(db.session, scope)
                       if scope.can_manage_flag(db.session, f)}
        assert managed_now == managed[user], user.email
    with pytest.raises(NotFound):
        Scope(w.other_lead).flag_or_404(db.session, fw.p.id)
    with pytest.raises(NotFound):
        Scope(w.lead).flag_or_404(db.session, "nonsense")


def test_a_flag_can_be_set_only_on_pupils_in_scope_and_in_its_owner(fw):
    w = fw.w

    def settable(user, flag):
        return set(db.session.scalars(sa.select(Pupil.id).where(Scope(user).flag_pupil_condition(flag))))

    partnership_pupils = {p.id for p in w.pupils} | {w.pupil2.id}
    assert settable(w.lead, fw.p) == partnership_pupils
    assert settable(w.lead, fw.s1) == {p.id for p in w.pupils}
    assert settable(fw.school2_lead, fw.p) == {w.pupil2.id}  # its own pupils only
    assert settable(w.admin, fw.o) == {w.other_pupil.id}
    assert settable(w.teacher, fw.p) == set()  # teachers never set flags
    # On the pupil edit page: the flags of the pupil's school and of its partnership.
    assert names(service.settable_flags(db.session, Scope(w.lead), w.pupils[0])) == {"Mentored", "Young carer"}
    assert names(service.settable_flags(db.session, Scope(fw.school2_lead), w.pupil2)) == {"Mentored", "Choir"}
    assert service.settable_flags(db.session, Scope(fw.school2_lead), w.pupils[0]) == []  # not in scope
    assert service.settable_flags(db.session, Scope(w.teacher), w.pupils[0]) == []


def test_set_flags_sets_exactly_the_chosen_ones_and_records_it(fw):
    w = fw.w
    pupil = w.pupils[0]
    changes = service.set_flags(db.session, w.lead, pupil, [fw.p.id, fw.s1.id])
    db.session.commit()
    assert changes == {"flags": [None, "Mentored, Young carer"]}
    assert flag_ids_of(pupil.id) == {fw.p.id, fw.s1.id}
    assert service.set_flags(db.session, w.lead, pupil, [fw.s1.id, fw.p.id]) == {}  # nothing to change
    assert service.set_flags(db.session, w.lead, pupil, [fw.s1.id]) == {"flags": ["Mentored, Young carer",
                                                                                 "Young carer"]}
    db.session.commit()
    assert flag_ids_of(pupil.id) == {fw.s1.id}
    log = entries("pupil", pupil.id)
    assert [e.action for e in log] == ["flags changed", "flags changed"] and log[0].staff_id == w.lead.id
    assert [e.action for e in entries("flag", fw.p.id)] == ["added pupils", "removed pupils"]
    with pytest.raises(FlagError, match="Mentored, Young carer"):
        service.set_flags(db.session, w.lead, pupil, [fw.s2.id])  # another school's flag
    with pytest.raises(NotFound):
        service.set_flags(db.session, w.other_lead, pupil, [])  # a pupil out of scope
    with pytest.raises(FlagError):
        service.set_flags(db.session, w.teacher, pupil, [fw.p.id])  # teachers cannot set flags
    db.session.rollback()
    assert flag_ids_of(pupil.id) == {fw.s1.id}


def test_set_flags_leaves_flags_the_staff_member_cannot_set(fw):
    w = fw.w
    pupil = w.pupil2
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": fw.s2.id, "pupil_id": pupil.id}])
    pupil.school_id = w.school.id  # moved from Second School to Test School, keeping the flag
    db.session.commit()
    changes = service.set_flags(db.session, w.lead, pupil, [fw.s1.id])
    db.session.commit()
    assert flag_ids_of(pupil.id) == {fw.s1.id, fw.s2.id}
    assert changes == {"flags": ["Choir", "Choir, Young carer"]}


# ----- the pages -----------------------------------------------------------------------------


def test_list_shows_flags_in_scope_with_counts(client, fw):
    w = fw.w
    db.session.execute(pupil_flag_members.insert(), [
        {"flag_id": fw.p.id, "pupil_id": w.pupils[0].id}, {"flag_id": fw.p.id, "pupil_id": w.pupil2.id}])
    db.session.commit()
    login_as(client, w.lead)
    page = client.get("/staff/flags/")
    assert page.status_code == 200
    assert ">Mentored</a>" in page.text and ">Choir</a>" in page.text and "Sports squad" not in page.text
    row = page.text[page.text.index(">Mentored<"):]
    assert 'class="num">2<' in row[:600]
    assert 'href="/staff/flags/"' in page.text and "Pupil flags" in page.text  # the nav link
    login_as(client, fw.school2_lead)
    page = client.get("/staff/flags/")
    row = page.text[page.text.index(">Mentored<"):]
    assert 'class="num">1<' in row[:600]  # only the pupil at its own school is counted
    assert "you can set it on your pupils, not change it" in row[:600]
    login_as(client, w.other_lead)
    page = client.get("/staff/flags/")
    assert ">Sports squad</a>" in page.text and ">Mentored</a>" not in page.text


def test_teachers_cannot_see_or_manage_flag_pages(client, fw):
    w = fw.w
    login_as(client, w.teacher)
    assert "/staff/flags/" not in client.get("/staff/").text  # no nav link
    for url in ["/staff/flags/", "/staff/flags/new", f"/staff/flags/{fw.p.id}", f"/staff/flags/{fw.p.id}/edit",
                f"/staff/flags/{fw.p.id}/delete", f"/staff/flags/{fw.p.id}/pupils/add"]:
        assert client.get(url).status_code == 403, url
    token = csrf_from(client.get("/staff/").text)
    resp = client.post(f"/staff/flags/{fw.p.id}/pupils/add", data={"csrf_token": token,
                                                                  "pupil_ids": [w.pupils[0].id]})
    assert resp.status_code == 403 and members(fw.p.id) == set()
    resp = client.post("/staff/flags/new", data={"csrf_token": token, "name": "Sneaky",
                                                 "owner": f"school:{w.school.id}"})
    assert resp.status_code == 403 and count(PupilFlag) == 4


def test_a_lead_of_another_partnership_gets_404(client, fw):
    w = fw.w
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": fw.p.id, "pupil_id": w.pupils[0].id}])
    db.session.commit()
    login_as(client, w.other_lead)
    for url in [f"/staff/flags/{fw.p.id}", f"/staff/flags/{fw.p.id}/edit", f"/staff/flags/{fw.p.id}/delete",
                f"/staff/flags/{fw.p.id}/pupils/add", f"/staff/flags/{fw.s1.id}", "/staff/flags/99999"]:
        assert client.get(url).status_code == 404, url
    token = csrf_from(client.get("/staff/flags/").text)
    for url, data in [(f"/staff/flags/{fw.p.id}/delete", {}),
                      (f"/staff/flags/{fw.p.id}/edit", {"name": "Renamed"}),
                      (f"/staff/flags/{fw.p.id}/pupils/remove", {"pupil_ids": [w.pupils[0].id]}),
                      (f"/staff/flags/{fw.p.id}/pupils/add", {"pupil_ids": [w.other_pupil.id]})]:
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 404, url
    # Its own flag cannot be set on pupils of the partnership either.
    resp = client.post(f"/staff/flags/{fw.o.id}/pupils/add", data={"csrf_token": token,
                                                                  "pupil_ids": [w.pupils[1].id]})
    assert resp.status_code == 404
    assert members(fw.p.id) == {w.pupils[0].id} and members(fw.o.id) == set()
    assert db.session.get(PupilFlag, fw.p.id).name == "Mentored" and count(ChangeLog) == 0


def test_a_school_lead_sets_a_partnership_flag_on_its_own_pupils_but_cannot_change_it(client, fw):
    w = fw.w
    login_as(client, fw.school2_lead)
    page = client.get(f"/staff/flags/{fw.p.id}")
    assert page.status_code == 200 and "only the partnership's leads can rename or delete it" in page.text
    assert "Rename or describe" not in page.text and "Add pupils" in page.text
    assert client.get(f"/staff/flags/{fw.p.id}/edit").status_code == 403
    assert client.get(f"/staff/flags/{fw.p.id}/delete").status_code == 403
    add = client.get(f"/staff/flags/{fw.p.id}/pupils/add")
    assert "Sam Second" in add.text and "Pupil0" not in add.text
    token = csrf_from(add.text)
    refused = client.post(f"/staff/flags/{fw.p.id}/pupils/add", data={
        "csrf_token": token, "pupil_ids": [w.pupil2.id, w.pupils[0].id]})
    assert refused.status_code == 404 and members(fw.p.id) == set()
    done = client.post(f"/staff/flags/{fw.p.id}/pupils/add", data={"csrf_token": token, "pupil_ids": [w.pupil2.id]})
    assert done.status_code == 302 and members(fw.p.id) == {w.pupil2.id}
    assert client.post(f"/staff/flags/{fw.p.id}/delete", data={"csrf_token": token}).status_code == 403
    assert db.session.get(PupilFlag, fw.p.id) is not None


def test_create_a_flag(client, fw):
    w = fw.w
    login_as(client, w.lead)
    form = client.get("/staff/flags/new")
    assert form.status_code == 200
    assert f'value="partnership:{w.partnership.id}"' in form.text and f'value="school:{w.school2.id}"' in form.text
    assert f'value="school:{w.other_school.id}"' not in form.text
    resp = client.post("/staff/flags/new", data={
        "csrf_token": csrf_from(form.text), "name": "  Pupil   premium plus ", "description": " Extra funding ",
        "owner": f"school:{w.school.id}"})
    assert resp.status_code == 302
    flag = db.session.scalar(sa.select(PupilFlag).where(PupilFlag.name == "Pupil premium plus"))
    assert (flag.school_id, flag.partnership_id, flag.description, flag.created_by_id) == (
        w.school.id, None, "Extra funding", w.lead.id)
    assert resp.location.endswith(f"/staff/flags/{flag.id}/pupils/add")
    [entry] = entries("flag", flag.id)
    assert entry.action == "created" and entry.changes["name"] == [None, "Pupil premium plus"]
    assert entry.changes["owner"] == "Test School"
    # A school lead in a partnership may make flags for its school, not for the partnership.
    login_as(client, fw.school2_lead)
    form = client.get("/staff/flags/new")
    assert f'value="partnership:{w.partnership.id}"' not in form.text
    resp = client.post("/staff/flags/new", data={"csrf_token": csrf_from(form.text), "name": "Band",
                                                 "owner": f"partnership:{w.partnership.id}"})
    assert resp.status_code == 400 and "Choose your partnership or one of your schools." in resp.text
    assert count(PupilFlag, PupilFlag.name == "Band") == 0


@pytest.mark.parametrize("name, owner, message", [
    ("mentored", "partnership", "There is already a flag called “Mentored” at Test Partnership"),
    ("MENTORED", "school", "Test Partnership already has a flag called “Mentored”"),
    ("Choir", "partnership", "Second School already has a flag called “Choir”"),
    ("", "school", "Give the flag a name."),
    ("Art; Music", "school", "cannot contain a semicolon"),
    ("x" * 61, "school", "Field cannot be longer than 60 characters."),
])
def test_a_duplicate_or_bad_name_is_refused_and_nothing_changes(client, fw, name, owner, message):
    w = fw.w
    login_as(client, w.lead)
    key = f"partnership:{w.partnership.id}" if owner == "partnership" else f"school:{w.school.id}"
    resp = post_form(client, "/staff/flags/new", {"name": name, "owner": key})
    assert resp.status_code == 400 and message in resp.text and "Nothing was saved" in resp.text
    assert count(PupilFlag) == 4 and count(ChangeLog) == 0


def test_the_same_name_is_fine_for_an_unrelated_school(client, fw):
    login_as(client, fw.w.other_lead)
    resp = post_form(client, "/staff/flags/new", {"name": "Mentored", "owner": f"school:{fw.w.other_school.id}"})
    assert resp.status_code == 302 and count(PupilFlag, PupilFlag.name == "Mentored") == 2


def test_rename_and_describe(client, fw):
    w = fw.w
    login_as(client, w.lead)
    url = f"/staff/flags/{fw.s1.id}/edit"
    resp = post_form(client, url, {"name": "Young carers", "description": "Known to the carers' service"})
    assert resp.status_code == 302 and resp.location.endswith(f"/staff/flags/{fw.s1.id}")
    db.session.refresh(fw.s1)
    assert (fw.s1.name, fw.s1.description) == ("Young carers", "Known to the carers' service")
    [entry] = entries("flag", fw.s1.id)
    assert entry.action == "edited" and entry.changes == {
        "name": ["Young carer", "Young carers"], "description": [None, "Known to the carers' service"]}
    page = client.get(f"/staff/flags/{fw.s1.id}")
    assert "Name: Young carer → Young carers" in page.text
    # Renaming to a name in use is refused and changes nothing.
    refused = post_form(client, url, {"name": "mentored", "description": ""})
    assert refused.status_code == 400 and "Test Partnership already has a flag called “Mentored”" in refused.text
    db.session.refresh(fw.s1)
    assert fw.s1.name == "Young carers" and len(entries("flag", fw.s1.id)) == 1
    same = post_form(client, url, {"name": "Young carers", "description": "Known to the carers' service"})
    assert same.status_code == 302 and len(entries("flag", fw.s1.id)) == 1


def test_delete_asks_first_then_takes_the_flag_off_every_pupil(client, fw):
    w = fw.w
    db.session.execute(pupil_flag_members.insert(), [
        {"flag_id": fw.p.id, "pupil_id": w.pupils[0].id}, {"flag_id": fw.p.id, "pupil_id": w.pupil2.id},
        {"flag_id": fw.s1.id, "pupil_id": w.pupils[0].id}])
    db.session.commit()
    flag_id = fw.p.id
    login_as(client, w.lead)
    confirm = client.get(f"/staff/flags/{flag_id}/delete")
    assert confirm.status_code == 200 and "is set on <strong>2 pupils</strong>" in confirm.text
    no_token = client.post(f"/staff/flags/{flag_id}/delete", data={})
    assert no_token.status_code == 400 and db.session.get(PupilFlag, flag_id) is not None
    assert members(flag_id) == {w.pupils[0].id, w.pupil2.id}
    resp = client.post(f"/staff/flags/{flag_id}/delete", data={"csrf_token": csrf_from(confirm.text)})
    assert resp.status_code == 302 and resp.location.endswith("/staff/flags/")
    db.session.expire_all()
    assert db.session.get(PupilFlag, flag_id) is None and members(flag_id) == set()
    assert flag_ids_of(w.pupils[0].id) == {fw.s1.id}
    assert entries("flag", flag_id)[-1].action == "deleted"
    assert entries("flag", flag_id)[-1].changes == {"name": "Mentored", "owner": "Test Partnership", "pupils": 2}
    [pupil_entry] = entries("pupil", w.pupils[0].id)
    assert pupil_entry.changes == {"flags": ["Mentored, Young carer", "Young carer"]}
    assert client.get(f"/staff/flags/{flag_id}").status_code == 404


def test_add_pupils_from_a_filtered_list_and_remove_them(client, fw):
    w = fw.w
    login_as(client, w.lead)
    page = client.get(f"/staff/flags/{fw.p.id}/pupils/add")
    assert page.status_code == 200
    assert "Pupil0" in page.text and "Sam Second" in page.text and "Olu" not in page.text
    by_school = client.get(f"/staff/flags/{fw.p.id}/pupils/add?school={w.school2.id}")
    assert "Sam Second" in by_school.text and "Pupil0" not in by_school.text
    by_year = client.get(f"/staff/flags/{fw.p.id}/pupils/add?year=8")  # Pupil1 is in year 8
    assert "Pupil1" in by_year.text and "Pupil0" not in by_year.text and "Sam Second" not in by_year.text
    by_name = client.get(f"/staff/flags/{fw.p.id}/pupils/add?q=sam")
    assert "Sam Second" in by_name.text and "Pupil1" not in by_name.text
    bad = client.get(f"/staff/flags/{fw.p.id}/pupils/add?school={w.other_school.id}")
    assert bad.status_code == 400 and "Choose one of the schools listed." in bad.text

    token = csrf_from(page.text)
    add_url = f"/staff/flags/{fw.p.id}/pupils/add?year=8"
    resp = client.post(add_url, data={"csrf_token": token, "pupil_ids": [w.pupils[1].id, w.pupil2.id]})
    assert resp.status_code == 302 and "year=8" in resp.location
    assert members(fw.p.id) == {w.pupils[1].id, w.pupil2.id}
    again = client.post(add_url, data={"csrf_token": token, "pupil_ids": [w.pupils[1].id, w.pupils[2].id]},
                        follow_redirects=True)
    assert "set on 1 pupil. 1 pupil already had it." in again.text
    assert "Has it" in client.get(f"/staff/flags/{fw.p.id}/pupils/add?q=Pupil1").text
    nobody = client.post(add_url, data={"csrf_token": token})
    assert nobody.status_code == 400 and "Tick at least one pupil to add." in nobody.text
    outside = client.post(add_url, data={"csrf_token": token, "pupil_ids": [w.pupils[3].id, w.other_pupil.id]})
    assert outside.status_code == 404 and members(fw.p.id) == {w.pupils[1].id, w.pupil2.id, w.pupils[2].id}
    school_flag = client.post(f"/staff/flags/{fw.s1.id}/pupils/add", data={"csrf_token": token,
                                                                           "pupil_ids": [w.pupil2.id]})
    assert school_flag.status_code == 404 and members(fw.s1.id) == set()  # not that school's pupil

    show = client.get(f"/staff/flags/{fw.p.id}")
    assert "Pupil1" in show.text and "Sam Second" in show.text and "Added pupils" in show.text
    resp = client.post(f"/staff/flags/{fw.p.id}/pupils/remove", data={"csrf_token": token,
                                                                     "pupil_ids": [w.pupil2.id]})
    assert resp.status_code == 302 and members(fw.p.id) == {w.pupils[1].id, w.pupils[2].id}
    not_member = client.post(f"/staff/flags/{fw.p.id}/pupils/remove", data={"csrf_token": token,
                                                                           "pupil_ids": [w.pupils[3].id]})
    assert not_member.status_code == 404
    actions = [e.action for e in entries("flag", fw.p.id)]
    assert actions == ["added pupils", "added pupils", "removed pupils"]
    history = [e.changes for e in entries("pupil", w.pupil2.id)]
    assert history == [{"flags": [None, "Mentored"]}, {"flags": ["Mentored", None]}]
    pupil_page = client.get(f"/staff/schools/pupils/{w.pupils[1].id}")
    assert '<span class="tag">Mentored</span>' in pupil_page.text


def test_every_flag_post_needs_its_csrf_token(client, fw):
    w = fw.w
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": fw.p.id, "pupil_id": w.pupils[0].id}])
    db.session.commit()
    login_as(client, w.admin)
    for url, data in [("/staff/flags/new", {"name": "X", "owner": f"school:{w.school.id}"}),
                      (f"/staff/flags/{fw.p.id}/edit", {"name": "Renamed"}),
                      (f"/staff/flags/{fw.p.id}/delete", {}),
                      (f"/staff/flags/{fw.p.id}/pupils/add", {"pupil_ids": [w.pupils[1].id]}),
                      (f"/staff/flags/{fw.p.id}/pupils/remove", {"pupil_ids": [w.pupils[0].id]})]:
        resp = client.post(url, data=data)
        assert resp.status_code == 400, url
        assert b"Traceback" not in resp.data
    assert members(fw.p.id) == {w.pupils[0].id} and count(PupilFlag) == 4 and count(ChangeLog) == 0
    assert db.session.get(PupilFlag, fw.p.id).name == "Mentored"


# ----- the pupil edit page ---------------------------------------------------------------------

GOOD = {"first_name": "Pupil0", "surname": "Tester", "year_group": "7", "reg_group": "", "gender": "",
        "sen": "N"}


def test_pupil_edit_sets_flags_and_a_leaving_date(client, fw):
    w = fw.w
    pupil = w.pupils[0]
    login_as(client, w.lead)
    url = f"/staff/schools/pupils/{pupil.id}/edit"
    page = client.get(url)
    assert page.status_code == 200
    assert f'value="{fw.p.id}"' in page.text and f'value="{fw.s1.id}"' in page.text
    assert "Choir" not in page.text and "Sports squad" not in page.text  # other schools' flags
    assert "Left the school on" in page.text
    left = date.today() - timedelta(days=3)
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), **GOOD, "flag_ids": [fw.p.id, fw.s1.id],
                                  "left_on": left.isoformat()})
    assert resp.status_code == 302
    db.session.expire_all()
    assert flag_ids_of(pupil.id) == {fw.p.id, fw.s1.id} and db.session.get(Pupil, pupil.id).left_on == left
    changes = {e.action: e.changes for e in entries("pupil", pupil.id)}
    assert changes == {"edited": {"left_on": [None, left.isoformat()]},
                       "flags changed": {"flags": [None, "Mentored, Young carer"]}}
    shown = client.get(f"/staff/schools/pupils/{pupil.id}").text
    assert '<span class="tag">Young carer</span>' in shown and left.strftime("%-d %B %Y") in shown
    again = client.get(url).text
    assert f'value="{fw.p.id}" id="flag-{fw.p.id}" checked' in again and left.isoformat() in again
    # Unticking takes a flag off; a DD/MM/YYYY date is read too; clearing the date clears it.
    resp = client.post(url, data={"csrf_token": csrf_from(again), **GOOD, "flag_ids": [fw.s1.id],
                                  "left_on": left.strftime("%d/%m/%Y")})
    assert resp.status_code == 302 and flag_ids_of(pupil.id) == {fw.s1.id}
    assert db.session.get(Pupil, pupil.id).left_on == left
    resp = client.post(url, data={"csrf_token": csrf_from(again), **GOOD, "flag_ids": [fw.s1.id], "left_on": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Pupil, pupil.id).left_on is None


@pytest.mark.parametrize("extra, message", [
    ({"left_on": (date.today() + timedelta(days=2)).isoformat()}, "The leaving date cannot be in the future."),
    ({"left_on": "31/02/2026"}, "Enter a date such as 2026-07-22"),
    ({"flag_ids": ["S2"]}, "Choose from the flags listed."),
])
def test_pupil_edit_refuses_a_future_date_or_another_schools_flag(client, fw, extra, message):
    w = fw.w
    pupil = w.pupils[0]
    if extra.get("flag_ids") == ["S2"]:
        extra = {"flag_ids": [fw.s2.id]}
    login_as(client, w.lead)
    resp = post_form(client, f"/staff/schools/pupils/{pupil.id}/edit", {**GOOD, "first_name": "Changed", **extra})
    assert resp.status_code == 400 and message in resp.text and "Nothing was saved" in resp.text
    db.session.expire_all()
    stored = db.session.get(Pupil, pupil.id)
    assert (stored.first_name, stored.left_on) == ("Pupil0", None)
    assert flag_ids_of(pupil.id) == set() and count(ChangeLog) == 0


def test_pupil_edit_without_flags_to_set_says_how_to_make_them(client, staff_world):
    login_as(client, staff_world.lead)
    page = client.get(f"/staff/schools/pupils/{staff_world.pupils[0].id}/edit")
    assert "No flags can be set on this pupil yet." in page.text


# ----- the roster import ---------------------------------------------------------------------


def roster(*rows: str, header: str = "UPN,Surname,Forename,Year,Flags") -> str:
    return "\n".join([header, *rows]) + "\n"


def test_import_sets_exactly_the_listed_flags(fw):
    w = fw.w
    p0, p1, p2 = w.pupils[0], w.pupils[1], w.pupils[2]
    db.session.execute(pupil_flag_members.insert(), [
        {"flag_id": fw.p.id, "pupil_id": p1.id}, {"flag_id": fw.s1.id, "pupil_id": p2.id}])
    db.session.commit()
    text = roster(f"{p0.upn},Tester,Pupil0,7, mentored ;YOUNG CARER;mentored",
                  f"{p1.upn},Tester,Pupil1,8,Mentored",
                  f"{p2.upn},Tester,Pupil2,9,",
                  f"{NEW_UPN},Newby,Nia,7,Young carer")
    preview = preview_import(db.session, w.school, parse_roster(text), scope=Scope(w.lead))
    assert preview.problems == [] and preview.flags_given
    assert {c.pupil_id: c.changes for c in preview.to_change} == {
        p0.id: {"flags": [None, "Mentored, Young carer"]}, p2.id: {"flags": ["Young carer", None]}}
    assert [r.upn for r in preview.unchanged] == [p1.upn]
    assert [(r.upn, r.flags) for r in preview.to_add] == [(NEW_UPN, ["Young carer"])]
    assert count(pupil_flag_members) == 2  # a preview writes nothing
    result = apply_import(db.session, w.school, w.lead, preview, filename="flags.csv")
    db.session.commit()
    assert (result.added, result.changed, result.unchanged) == (1, 2, 1)
    nia = db.session.scalar(sa.select(Pupil).where(Pupil.upn == NEW_UPN))
    assert flag_ids_of(p0.id) == {fw.p.id, fw.s1.id} and flag_ids_of(p1.id) == {fw.p.id}
    assert flag_ids_of(p2.id) == set() and flag_ids_of(nia.id) == {fw.s1.id}
    imported = entries("pupil", nia.id)[0]
    assert imported.action == "imported" and imported.changes["flags"] == [None, "Young carer"]
    assert entries("pupil", p2.id)[0].changes == {"flags": ["Young carer", None]}
    assert {e.action for e in entries("flag", fw.s1.id)} == {"added pupils (roster import)",
                                                            "removed pupils (roster import)"}
    again = preview_import(db.session, w.school, parse_roster(text), scope=Scope(w.lead))
    assert (len(again.to_add), len(again.to_change), len(again.unchanged)) == (0, 0, 4)


def test_an_unknown_flag_is_a_row_error_naming_the_valid_flags(fw):
    w = fw.w
    p0, p1 = w.pupils[0], w.pupils[1]
    text = roster(f"{p0.upn},Tester,Pupil0,7,Mentored;Mentord", f"{p1.upn},Tester,Pupil1,8,Choir",
                  f"{NEW_UPN},Newby,Nia,7,Mentored")
    preview = preview_import(db.session, w.school, parse_roster(text), scope=Scope(w.lead))
    assert [(p.row, p.reason) for p in preview.problems] == [
        (2, "flag 'Mentord' is not one of the flags that can be set here (Mentored, Young carer)"),
        (3, "flag 'Choir' is not one of the flags that can be set here (Mentored, Young carer)"),
    ]
    assert [r.upn for r in preview.to_add] == [NEW_UPN] and preview.to_change == []
    apply_import(db.session, w.school, w.lead, preview)
    db.session.commit()
    assert flag_ids_of(p0.id) == set() and flag_ids_of(p1.id) == set()
    # At a school with no flags at all, the message says how to make them.
    text = roster(f"{w.other_pupil.upn},Other,Olu,8,Mentored; Band")
    db.session.delete(db.session.get(PupilFlag, fw.o.id))
    db.session.commit()
    lonely = preview_import(db.session, w.other_school, parse_roster(text), scope=Scope(w.other_lead))
    assert lonely.problems[0].reason == ("flags 'Mentored' and 'Band' are not known here: no flags can be set "
                                         "on this school's pupils yet (create them on the Pupil flags page)")


def test_without_a_flags_column_flags_are_left_alone(fw):
    w = fw.w
    p0 = w.pupils[0]
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": fw.p.id, "pupil_id": p0.id}])
    db.session.commit()
    text = roster(f"{p0.upn},Tester,Pupil0,8", header="UPN,Surname,Forename,Year")
    preview = preview_import(db.session, w.school, parse_roster(text))
    assert not preview.flags_given and preview.to_change[0].changes == {"year_group": [7, 8]}
    apply_import(db.session, w.school, None, preview)
    db.session.commit()
    assert flag_ids_of(p0.id) == {fw.p.id}


def test_the_command_line_may_set_any_flag_of_the_school_or_its_partnership(fw):
    w = fw.w
    text = roster(f"{w.pupil2.upn},Second,Sam,9,Choir;Mentored;Young carer")
    preview = preview_import(db.session, w.school2, parse_roster(text))
    assert preview.problems[0].reason == ("flag 'Young carer' is not one of the flags that can be set here "
                                          "(Choir, Mentored)")


def test_leaving_dates_in_the_roster(fw):
    w = fw.w
    p0, p1 = w.pupils[0], w.pupils[1]
    today = date(2026, 3, 10)
    text = roster(f"{p0.upn},Tester,Pupil0,7,2026-01-31", f"{p1.upn},Tester,Pupil1,8,28/02/2026",
                  f"{w.pupils[2].upn},Tester,Pupil2,9,2026-04-01", f"{w.pupils[3].upn},Tester,Pupil3,10,soon",
                  f"{NEW_UPN},Newby,Nia,7,", header="UPN,Surname,Forename,Year,Leaving Date")
    parsed = parse_roster(text, today=today)
    assert [p.reason for p in parsed.problems] == [
        "leaving date '2026-04-01' is in the future",
        "leaving date 'soon' is not a date such as 2026-07-22 or 22/07/2026"]
    preview = preview_import(db.session, w.school, parsed)
    assert {c.pupil_id: c.changes for c in preview.to_change} == {
        p0.id: {"left_on": [None, date(2026, 1, 31)]}, p1.id: {"left_on": [None, date(2026, 2, 28)]}}
    apply_import(db.session, w.school, None, preview)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Pupil, p0.id).left_on == date(2026, 1, 31)
    assert db.session.scalar(sa.select(Pupil.left_on).where(Pupil.upn == NEW_UPN)) is None
    assert entries("pupil", p0.id)[0].changes == {"left_on": [None, "2026-01-31"]}


def upload(client, school_id, content: bytes):
    page = client.get("/staff/schools/import")
    stream, length, boundary = stream_encode_multipart({
        "csrf_token": csrf_from(page.text), "school": str(school_id),
        "roster": FileStorage(io.BytesIO(content), "flags.csv", content_type="text/csv")}, use_tempfile=False)
    return client.post("/staff/schools/import", data=stream.read(),
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_import_with_flags_through_the_web(client, fw):
    w = fw.w
    p0 = w.pupils[0]
    login_as(client, w.lead)
    text = roster(f"{p0.upn},Tester,Pupil0,7,Mentored", f"{NEW_UPN},Newby,Nia,7,young carer;mentored",
                  f"{w.pupils[1].upn},Tester,Pupil1,8,Chior")
    resp = upload(client, w.school.id, text.encode())
    assert resp.status_code == 302
    preview = client.get(resp.location)
    assert preview.status_code == 200
    assert "This file has a flags column" in preview.text
    change = ('Flags:</span> — <span aria-hidden="true">→</span><span class="visually-hidden">changes to</span> '
              "Mentored")
    assert change in preview.text
    assert "<td>Mentored, Young carer</td>" in preview.text
    assert "flag &#39;Chior&#39; is not one of the flags that can be set here (Mentored, Young carer)" in preview.text
    digest = preview.text.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    assert done.status_code == 302
    nia = db.session.scalar(sa.select(Pupil).where(Pupil.upn == NEW_UPN))
    assert flag_ids_of(p0.id) == {fw.p.id} and flag_ids_of(nia.id) == {fw.p.id, fw.s1.id}
    assert flag_ids_of(w.pupils[1].id) == set()


def test_the_import_command_sets_flags(runner, fw, tmp_path):
    w = fw.w
    path = tmp_path / "second.csv"
    path.write_text(roster(f"{w.pupil2.upn},Second,Sam,9,choir; Mentored"))
    result = runner.invoke(args=["import-pupils", "--school", "100002", str(path), "--dry-run"])
    assert result.exit_code == 0 and "flags — → Choir, Mentored" in result.output
    assert flag_ids_of(w.pupil2.id) == set()
    result = runner.invoke(args=["import-pupils", "--school", "100002", str(path)])
    assert result.exit_code == 0, result.output
    assert flag_ids_of(w.pupil2.id) == {fw.p.id, fw.s2.id}
