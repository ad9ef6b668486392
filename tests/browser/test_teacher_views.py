"""A teacher opens the group heatmap, sorts it, opens a pupil, adds a note and prints.

axe-core checks the heatmap, the profile and the print view at desktop and tablet
widths; with SCREENSHOT_DIR set, each is saved as a PNG (charts included).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from survey_app.db import db
from survey_app.models import AuditEvent, SupportEntry
from tests.browser.support import VIEWPORTS, save_screenshot
from tests.browser.test_accessibility import report
from tests.conftest import TEST_PASSWORD, StaffWorld
from tests.profiles.test_profiles import answer_round, second_round


def sign_in_staff(page, email: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def check_axe(page, axe: Axe, name: str, problems: list[str]) -> None:
    found = axe.run(page).response["violations"]
    if found:
        problems.append(report(name, found))


def test_teacher_heatmap_profile_note_and_print(app, new_context):
    world = StaffWorld(app)
    pupils = [*world.pupils, world.pupil2]
    answer_round(world, world.round, pupils, level=1.8, seed=21)
    during = second_round(world)
    answer_round(world, during, pupils, level=3.6, seed=22)

    context = new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    sign_in_staff(page, world.teacher.email)
    page.get_by_role("link", name=re.compile(r"heatmap")).first.click()
    expect(page.get_by_role("heading", name="Group A")).to_be_visible()
    table = page.locator("#heatmap")
    expect(table.get_by_role("row")).to_have_count(len(pupils) + 2)  # header and median rows

    # Sort by a factor: the highest score comes first after two clicks.
    page.get_by_role("link", name="Sort by Self-regard as a learner").click()
    expect(page).to_have_url(re.compile(r"sort=self_regard&order=asc"))
    page.get_by_role("link", name="Sort by Self-regard as a learner").click()
    expect(page).to_have_url(re.compile(r"sort=self_regard&order=desc"))
    column = [f.key for f in world.q.factors].index("self_regard") + 2
    values = [int(v) for v in re.findall(r"^\d+", "\n".join(
        table.locator(f"tbody tr td:nth-child({column})").all_inner_texts()), re.M)]
    assert values == sorted(values, reverse=True) and len(values) == len(pupils)

    # Change since the first round, with reliable rises marked.
    page.get_by_role("link", name="Change since the first round").click()
    expect(page.locator("#heatmap caption")).to_contain_text("Change in score")

    shots = os.environ.get("SCREENSHOT_DIR")
    axe, problems = Axe(), []
    check_axe(page, axe, "heatmap", problems)
    if shots:
        save_screenshot(page, Path(shots), "heatmap", "desktop")

    # Open a pupil, read the profile, add a note.
    pupil = pupils[0]
    page.get_by_role("link", name=f"{pupil.first_name} {pupil.surname}").click()
    expect(page.get_by_role("heading", name=f"{pupil.first_name} {pupil.surname}")).to_be_visible()
    expect(page.locator("[data-chart='profile-chart-data'] .main-svg").first).to_be_visible()
    expect(page.get_by_role("heading", name="Scores by round")).to_be_visible()
    page.get_by_label("What happened or what is planned").fill("Talked about joining the lunchtime club.")
    page.get_by_role("button", name="Add to the log").click()
    expect(page.locator("#support ~ table")).to_contain_text("Talked about joining the lunchtime club.")
    check_axe(page, axe, "profile", problems)
    if shots:
        save_screenshot(page, Path(shots), "profile", "desktop")

    # The print view: no navigation, the chart drawn, the note included.
    page.get_by_role("link", name="Print view").click()
    expect(page.locator("[data-chart='profile-chart-data'] .main-svg").first).to_be_visible()
    expect(page.locator("nav.staff-nav")).to_have_count(0)
    expect(page.get_by_text("Talked about joining the lunchtime club.")).to_be_visible()
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"
    page.emulate_media(media="screen")
    check_axe(page, axe, "print", problems)
    if shots:
        save_screenshot(page, Path(shots), "profile-print", "desktop")

    # The same pages at tablet width.
    page.set_viewport_size(VIEWPORTS["tablet"])
    for name, url in [("heatmap", f"/staff/groups/{world.group.id}/heatmap?compare={world.round.id}"),
                      ("profile", f"/staff/pupils/{pupil.id}/profile")]:
        page.goto(url)
        if name == "profile":
            expect(page.locator("[data-chart='profile-chart-data'] .main-svg").first).to_be_visible()
        check_axe(page, axe, f"{name} (tablet)", problems)
        if shots:
            save_screenshot(page, Path(shots), name, "tablet")
    assert not problems, "\n".join(problems)

    entry = db.session.scalars(sa.select(SupportEntry)).one()
    assert entry.pupil_id == pupil.id and entry.author_id == world.teacher.id
    views = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.pupil_id == pupil.id)).all()
    assert "viewed profile" in views and "printed profile" in views
