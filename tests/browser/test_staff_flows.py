"""Staff flows in the browser: a roster import with bad rows, a group across two schools,
a round with its slips (printed and downloaded), and completion updating live while a
pupil answers in another browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from survey_app.db import db
from survey_app.models import AccessCode, Group, Pupil, SurveyRound
from survey_app.models.upn import make_upn
from tests.browser.pupil import sign_in, statement, wait_saved
from tests.browser.staff import open_now_close_later, sign_in_staff, write_roster
from tests.conftest import StaffWorld

CODE = re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{4}$")


def test_lead_imports_a_roster_with_bad_rows(app, new_context, tmp_path):
    world = StaffWorld(app)
    good = [make_upn(201, 4000, 15, n) for n in (101, 102, 103)]
    twice = make_upn(201, 4000, 15, 104)
    roster = write_roster(tmp_path / "autumn roster.csv", [
        [good[0], "Adeyemi", "Ada", "7", "7A", "F", "N", "No", "No"],          # row 2
        [good[1], "Brown", "Ben", "Year 8", "8B", "M", "K", "Yes", "No"],      # row 3
        ["", "Carter", "Cat", "7", "7A", "F", "N", "No", "No"],                # row 4: no UPN
        [good[2], "Dlamini", "Dan", "Y9", "9C", "M", "N", "No", "Yes"],        # row 5
        [make_upn(201, 4000, 15, 105), "Evans", "Eve", "Y99", "", "F", "N", "No", "No"],  # row 6
        [twice, "Fox", "Finn", "7", "7B", "M", "N", "No", "No"],               # row 7: same UPN
        [twice, "Fox", "Fran", "7", "7B", "F", "N", "No", "No"],               # row 8: same UPN
    ])

    page = new_context().new_page()
    sign_in_staff(page, world.lead.email)
    page.get_by_role("navigation", name="Staff sections").get_by_role("link", name="Schools and pupils").click()
    expect(page.get_by_role("heading", name="Schools and pupils", exact=True)).to_be_visible()
    page.get_by_role("link", name="Import pupils from a roster").click()
    expect(page.get_by_role("heading", name="Import pupils from a roster")).to_be_visible()
    page.get_by_label("School").select_option(label="Test School (URN 100001)")
    page.get_by_label("Roster file (CSV, OneRoster ZIP or CTF XML)").set_input_files(roster)
    page.get_by_role("button", name="Upload and check").click()

    # The preview: three to add, four refused with their row numbers and reasons.
    expect(page.get_by_role("heading", name="Check the import into Test School")).to_be_visible()
    expect(page.get_by_role("heading", name="Pupils to add (3)")).to_be_visible()
    to_add = page.get_by_role("table", name="New pupils the import would add to Test School")
    expect(to_add.locator("tbody tr")).to_have_count(3)
    for upn in good:
        expect(to_add).to_contain_text(upn)
    expect(page.get_by_role("heading", name="Refused rows (4)")).to_be_visible()
    refused = page.get_by_role("table", name="Rows that will not be imported, with the reason")
    expect(refused.locator("tbody tr")).to_have_count(4)
    reasons = {
        "4": "no UPN",
        "6": "year group 'Y99' is not R (Reception) or 1 to 14",
        "7": "the same UPN is also on row 8",
        "8": "the same UPN is also on row 7",
    }
    for row, reason in reasons.items():
        line = refused.locator("tbody tr").filter(has=page.locator("th", has_text=re.compile(rf"^{row}$")))
        expect(line).to_have_count(1)
        expect(line).to_contain_text(reason)

    # Nothing is written until the lead confirms.
    db.session.rollback()
    new_upns = [*good, twice]
    assert db.session.scalar(sa.select(sa.func.count()).where(Pupil.upn.in_(new_upns))) == 0

    page.get_by_role("button", name="Import the 3 valid rows; skip 4 bad rows").click()
    expect(page.get_by_role("heading", name="Import into Test School")).to_be_visible()
    added = page.locator(".stat").filter(has_text="added")
    expect(added.locator(".stat-n")).to_have_text("3")
    expect(page.locator(".stat").filter(has_text="refused").locator(".stat-n")).to_have_text("4")

    db.session.rollback()
    stored = db.session.execute(
        sa.select(Pupil.upn, Pupil.first_name, Pupil.year_group, Pupil.school_id).where(Pupil.upn.in_(new_upns))
    ).all()
    assert sorted(stored) == sorted([
        (good[0], "Ada", 7, world.school.id),
        (good[1], "Ben", 8, world.school.id),
        (good[2], "Dan", 9, world.school.id),
    ])


def test_lead_builds_a_group_across_schools_then_a_round_and_its_slips(app, new_context):
    world = StaffWorld(app)
    context = new_context(accept_downloads=True)
    page = context.new_page()
    sign_in_staff(page, world.lead.email)
    nav = page.get_by_role("navigation", name="Staff sections")

    # b. A partnership group, pupils added by search (Test School) and by year (Second School).
    nav.get_by_role("link", name="Groups").click()
    page.get_by_role("link", name="Create a group").click()
    page.get_by_label("Name", exact=True).fill("Bridge programme")
    page.get_by_label("Belongs to").select_option(label="Test Partnership (whole partnership)")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Add pupils to “Bridge programme”")).to_be_visible()

    search = page.get_by_role("search", name="Pupils that can be added")
    search.get_by_label("Name or UPN").fill("Tester")
    search.get_by_label("School").select_option(label="Test School")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="4 pupils found")).to_be_visible()
    for pupil in world.pupils[:2]:
        page.get_by_role("checkbox", name=f"Select {pupil.display_name}").check()
    page.get_by_role("button", name="Add selected pupils").click()
    expect(page.get_by_text("Added 2 pupils to “Bridge programme”.")).to_be_visible()

    by_year = page.get_by_role("region", name="Add a whole year group or registration group")
    by_year.get_by_label("School").select_option(label="Second School")
    by_year.get_by_label("Year group").select_option(label="Year 9")
    by_year.get_by_role("button", name="Add all of them").click()
    # Adding a whole year group goes back to the group's page.
    expect(page.get_by_role("heading", name="Bridge programme", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"Added 1 pupil\b"))).to_be_visible()
    members = page.get_by_role("table", name="Pupils in Bridge programme").locator("tbody tr")
    expect(members).to_have_count(3)
    members_text = " ".join(members.all_inner_texts())
    for pupil in [*world.pupils[:2], world.pupil2]:
        assert pupil.display_name in members_text
    assert "Test School" in members_text and "Second School" in members_text

    # c. A round for the group, open now, with a code per pupil.
    nav.get_by_role("link", name="Survey rounds").click()
    page.get_by_role("link", name="Set up a round").click()
    page.get_by_label("Name of the round").fill("Bridge: before")
    page.get_by_label("Phase").select_option(label="Before")
    questionnaire = page.get_by_label("Questionnaire")
    value = questionnaire.locator("option", has_text="(pass9-secondary v").first.get_attribute("value")
    questionnaire.select_option(value=value)
    opens, closes = open_now_close_later()
    page.get_by_label("Opens").fill(opens)
    page.get_by_label("Closes").fill(closes)
    page.get_by_role("checkbox", name=re.compile(r"^Bridge programme \(Test Partnership, 3 pupils\)")).check()
    page.get_by_role("button", name="Create the round and its codes").click()
    expect(page.get_by_text("Round ‘Bridge: before’ created with 3 code(s).")).to_be_visible()
    expect(page.get_by_role("heading", name="Bridge: before")).to_contain_text("Open")

    nav.get_by_role("link", name="Survey rounds").click()
    row = page.locator(".rounds-table tbody tr").filter(has=page.get_by_role("link", name="Bridge: before"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text("Bridge programme")
    expect(row).to_contain_text("0 of 3")
    row.get_by_role("link", name="Bridge: before").click()

    db.session.rollback()
    survey_round = db.session.scalars(sa.select(SurveyRound).where(SurveyRound.name == "Bridge: before")).one()
    group = db.session.scalars(sa.select(Group).where(Group.name == "Bridge programme")).one()
    codes = dict(db.session.execute(sa.select(AccessCode.pupil_id, AccessCode.code)
                                    .where(AccessCode.round_id == survey_round.id)).all())
    assert sorted(codes) == sorted(p.id for p in group.pupils)

    page.get_by_role("link", name="Print code slips").click()
    expect(page.get_by_role("heading", name="Code slips: Bridge: before")).to_be_visible()
    slips = page.locator(".sheet .slip")
    expect(slips).to_have_count(3)
    printed = {}
    for slip in slips.all():
        code = slip.locator(".slip-code").inner_text().strip()
        assert CODE.match(code), code
        printed[slip.locator(".slip-name").inner_text().strip()] = code.replace("-", "")
    expected = {p.display_name: codes[p.id] for p in group.pupils}
    assert printed == expected
    # Dashed cut lines round every slip: top and left on each, right and bottom at the edges.
    borders = slips.evaluate_all(
        "els => els.map(e => { const s = getComputedStyle(e); return [s.borderTopStyle, s.borderLeftStyle,"
        " s.borderRightStyle, s.borderBottomStyle]; })")
    assert all(b[0] == b[1] == "dashed" for b in borders), borders
    assert borders[-1] == ["dashed"] * 4, borders
    expect(page.locator(".slip.cut-right")).not_to_have_count(0)
    expect(page.locator(".slip.cut-bottom")).to_have_count(3)

    page.emulate_media(media="print")
    expect(page.locator(".slips-screen")).to_be_hidden()
    assert page.pdf(format="A4")[:4] == b"%PDF"
    page.emulate_media(media="screen")

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download these slips as a PDF").click()
    assert Path(pdf_download.value.path()).read_bytes()[:4] == b"%PDF"
    assert pdf_download.value.suggested_filename.endswith(".pdf")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download these codes as CSV").click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert "code" in header, header
    assert len(text.splitlines()) == 4
    for code in codes.values():
        assert code in text or f"{code[:4]}-{code[4:]}" in text


def test_teacher_sees_completion_change_while_a_pupil_answers(app, new_context):
    world = StaffWorld(app)
    pupil = world.pupils[0]
    code = world.code_of(0)

    teacher = new_context().new_page()
    sign_in_staff(teacher, world.teacher.email)
    teacher.goto(f"/staff/rounds/{world.round.id}/completion")
    expect(teacher.get_by_role("heading", name="Completion: Before")).to_be_visible()
    row = teacher.locator(f"#group-{world.group.id}-pupil-{pupil.id}")
    expect(row).to_have_attribute("data-status", "not-started")
    expect(row.locator('[data-field="answered"]')).to_have_text("0")
    teacher.evaluate("window.notReloaded = true")

    child = new_context().new_page()
    sign_in(child, code)
    for number in (1, 2, 3):
        statement(child, number).locator("label", has_text="Yes, a lot").click()
    wait_saved(child)

    # The page polls every 5 seconds: no reload, the row changes in place.
    expect(row).to_have_attribute("data-status", "in-progress", timeout=20_000)
    expect(row.locator(".status-text")).to_have_text(re.compile("in progress", re.I))
    expect(row.locator('[data-field="answered"]')).to_have_text("3")
    expect(teacher.locator('#round-counts [data-count="in progress"]')).to_have_text("1")

    child.get_by_role("button", name="Check and finish").click()
    child.get_by_role("button", name="Finish the survey").click()
    expect(child.get_by_role("heading", name="Thank you!")).to_be_visible()

    expect(row).to_have_attribute("data-status", "finished", timeout=20_000)
    expect(row.locator(".status-text")).to_have_text(re.compile("finished", re.I))
    expect(teacher.locator('#round-counts [data-count="finished"]')).to_have_text("1")
    assert teacher.evaluate("window.notReloaded") is True
