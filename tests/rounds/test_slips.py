"""Code slips (print page and PDF), the codes CSV, and giving a pupil a new code."""

from __future__ import annotations

import csv
import io
import math
import re

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AccessCode, ChangeLog, Group, Pupil
from survey_app.models.base import utcnow
from survey_app.models.upn import make_upn
from survey_app.pupil.codes import format_code, issue_codes
from survey_app.rounds.slips import DEJAVU_DIR, PER_SHEET, Slip, display_address, sheets, slips_pdf
from tests.conftest import csrf_from, login_as

PAGE_RE = re.compile(rb"/Type\s*/Page\b(?!s)")


def pdf_pages(data: bytes) -> int:
    return len(PAGE_RE.findall(data))


def codes_of_round(survey_round) -> dict[int, str]:
    return dict(db.session.execute(sa.select(AccessCode.pupil_id, AccessCode.code).where(
        AccessCode.round_id == survey_round.id)).all())


def add_pupils(world, count: int, first_name: str = "Extra", surname: str = "Pupil",
               group: Group | None = None) -> list[Pupil]:
    """Pupils of the first school joined to a group of the round, each given a code."""
    group = group or world.group
    school_id = world.school.id
    pupils = [
        Pupil(school_id=school_id, upn=make_upn(201, 4002, 15, i + 1), first_name=f"{first_name}{i}"
              if count > 1 else first_name, surname=surname, year_group=10)
        for i in range(count)
    ]
    db.session.add_all(pupils)
    group.pupils.extend(pupils)
    db.session.flush()
    issue_codes(db.session, world.round, [p.id for p in pupils])
    db.session.commit()
    return pupils


def slip_count(html: str) -> int:
    return len(re.findall(r'<li class="slip[ "]', html))


# ----- print page --------------------------------------------------------------------


def test_print_page_has_24_slips_a_sheet_with_cut_lines_and_codes(client, staff_world):
    add_pupils(staff_world, 20)  # 25 pupils in the round: a full sheet and one slip
    login_as(client, staff_world.lead)
    page = client.get(f"/staff/rounds/{staff_world.round.id}/slips")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    assert "css/slips.css" in page.text
    sheets_html = page.text.split('<ul class="sheet"')[1:]
    assert [slip_count(s) for s in sheets_html] == [24, 1]
    assert "cut-right" in page.text and "cut-bottom" in page.text
    for code in codes_of_round(staff_world.round).values():
        assert format_code(code) in page.text
    assert "Go to <strong>localhost</strong>" in page.text
    assert "Type your code. Check it is you." in page.text
    assert "Pupil0 Tester" in page.text and "Group A" in page.text


def test_print_page_filters_by_group_and_unused(client, staff_world):
    first = staff_world.round
    used_pupil = staff_world.pupils[0]
    db.session.execute(sa.update(AccessCode).where(
        AccessCode.round_id == first.id, AccessCode.pupil_id == used_pupil.id).values(first_used_at=utcnow()))
    db.session.commit()
    login_as(client, staff_world.lead)
    url = f"/staff/rounds/{first.id}/slips"
    assert slip_count(client.get(url).text) == 5
    unused = client.get(url + "?unused=1")
    assert slip_count(unused.text) == 4 and f"{used_pupil.first_name} Tester" not in unused.text
    by_group = client.get(f"{url}?group={staff_world.group.id}")
    assert slip_count(by_group.text) == 5
    assert client.get(f"{url}?group={staff_world.group_b.id}").status_code == 404
    assert client.get(f"{url}?group=abc").status_code == 404


def test_teachers_print_slips_for_their_own_groups_only(client, staff_world):
    other = Group(name="Group C", partnership_id=staff_world.partnership.id)
    db.session.add(other)
    staff_world.round.groups.append(other)
    db.session.flush()
    add_pupils(staff_world, 1, first_name="Carla", surname="Cee", group=other)
    login_as(client, staff_world.teacher)
    url = f"/staff/rounds/{staff_world.round.id}"
    page = client.get(url + "/slips")
    assert slip_count(page.text) == 5 and "Carla" not in page.text
    assert "Carla" not in client.get(url + "/codes.csv").text
    assert client.get(f"{url}/slips?group={other.id}").status_code == 404
    login_as(client, staff_world.lead)
    assert "Carla Cee" in client.get(url + "/slips").text
    login_as(client, staff_world.teacher_b)
    assert client.get(url + "/slips").status_code == 404
    assert client.get(url + "/slips.pdf").status_code == 404
    assert client.get(url + "/codes.csv").status_code == 404


# ----- PDF ---------------------------------------------------------------------------


@pytest.mark.parametrize("extra, pages", [(0, 1), (19, 1), (20, 2), (43, 2), (44, 3)])
def test_pdf_has_a_page_for_every_24_slips(client, staff_world, extra, pages):
    if extra:
        add_pupils(staff_world, extra)
    login_as(client, staff_world.lead)
    resp = client.get(f"/staff/rounds/{staff_world.round.id}/slips.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert pdf_pages(resp.data) == pages == math.ceil((5 + extra) / PER_SHEET)
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in resp.headers["Cache-Control"]


def test_pdf_copes_with_names_in_any_script(client, staff_world):
    add_pupils(staff_world, 1, first_name="Zoë Łukasz 李", surname="Ωmega-Ärger")
    login_as(client, staff_world.lead)
    resp = client.get(f"/staff/rounds/{staff_world.round.id}/slips.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF") and pdf_pages(resp.data) == 1
    assert "Zoë Łukasz 李" in client.get(f"/staff/rounds/{staff_world.round.id}/slips").text


@pytest.mark.parametrize("font_dir", [DEJAVU_DIR, None], ids=["dejavu-or-core", "core-fonts"])
def test_slips_pdf_is_a_pure_function(font_dir):
    slips = [Slip("Zoë Łukasz 李 " + "Very-Long-Surname" * 3, "Group A, Group B", "ABCD-EFGH")] * 49
    data = slips_pdf(slips, "survey.example.org", title="Before – autumn", font_dir=font_dir)
    assert data.startswith(b"%PDF") and pdf_pages(data) == 3
    empty = slips_pdf([], "survey.example.org", font_dir=font_dir)
    assert empty.startswith(b"%PDF") and pdf_pages(empty) == 1


def test_sheets_and_address():
    assert [len(s) for s in sheets(list(range(50)))] == [24, 24, 2]
    assert sheets([]) == []
    assert display_address("https://survey.example.org/") == "survey.example.org"
    assert display_address("http://localhost:5056/") == "localhost:5056"
    assert display_address("https://example.org/survey/") == "example.org/survey"


# ----- CSV ---------------------------------------------------------------------------


def test_codes_csv_is_safe_to_open_in_a_spreadsheet(client, staff_world):
    add_pupils(staff_world, 1, first_name='=HYPERLINK("http://evil.example","Click")', surname="@Sum")
    login_as(client, staff_world.lead)
    resp = client.get(f"/staff/rounds/{staff_world.round.id}/codes.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert "filename=codes-" in resp.headers["Content-Disposition"]
    assert "no-store" in resp.headers["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert "code" in rows[0] and list(rows[0])[:3] == ["code", "first_name", "surname"]
    assert len(rows) == 6
    evil = next(r for r in rows if "HYPERLINK" in r["first_name"])
    assert evil["first_name"].startswith("'=HYPERLINK") and evil["surname"] == "'@Sum"
    codes = set(codes_of_round(staff_world.round).values())
    assert {r["code"].replace("-", "") for r in rows} == codes
    assert {r["used"] for r in rows} == {"no"}
    query = f"unused=1&group={staff_world.group.id}"
    unused = client.get(f"/staff/rounds/{staff_world.round.id}/codes.csv?{query}")
    assert unused.status_code == 200 and len(unused.data.decode("utf-8-sig").strip().splitlines()) == 7


# ----- a new code for a lost slip ----------------------------------------------------


def pupil_sign_in(client, code: str):
    page = client.get("/")
    return client.post("/", data={"code": code, "csrf_token": csrf_from(page.text)})


def test_reissued_code_replaces_the_old_one_at_once(app, client, staff_world):
    pupil = staff_world.pupils[1]
    old = staff_world.code_of(1)
    login_as(client, staff_world.teacher)
    url = f"/staff/rounds/{staff_world.round.id}/codes/{pupil.id}/reissue"
    codes_page = client.get(f"/staff/rounds/{staff_world.round.id}/codes")
    assert codes_page.status_code == 200 and url in codes_page.text
    confirm = client.get(url)
    assert confirm.status_code == 200 and format_code(old) in confirm.text
    resp = client.post(url, data={"csrf_token": csrf_from(confirm.text)})
    assert resp.status_code == 302
    db.session.expire_all()
    access = db.session.scalar(sa.select(AccessCode).where(
        AccessCode.round_id == staff_world.round.id, AccessCode.pupil_id == pupil.id))
    assert access.code != old and access.reissued_at is not None and access.first_used_at is None
    assert format_code(access.code) in client.get(resp.location).text
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.action == "code reissued"))
    assert entry.entity == "round" and entry.entity_id == staff_world.round.id
    assert entry.changes == {"pupil_id": pupil.id} and entry.staff_id == staff_world.teacher.id

    pupil_client = app.test_client()
    assert pupil_sign_in(pupil_client, old).status_code == 400
    assert pupil_sign_in(pupil_client, format_code(access.code)).status_code == 302


def test_reissue_needs_scope_and_csrf(client, staff_world):
    pupil = staff_world.pupils[0]
    url = f"/staff/rounds/{staff_world.round.id}/codes/{pupil.id}/reissue"
    login_as(client, staff_world.teacher_b)
    assert client.get(url).status_code == 404
    login_as(client, staff_world.other_lead)
    assert client.get(url).status_code == 404
    login_as(client, staff_world.lead)
    other_pupil_url = f"/staff/rounds/{staff_world.round.id}/codes/{staff_world.other_pupil.id}/reissue"
    assert client.get(other_pupil_url).status_code == 404
    assert client.post(url).status_code == 400
    assert staff_world.code_of(0) == codes_of_round(staff_world.round)[pupil.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog)) == 0
