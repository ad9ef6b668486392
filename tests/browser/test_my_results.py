""""My results" in the browser: axe finds nothing at desktop and tablet widths, the form
is used with the keyboard alone, and the hopes are saved. Screenshots with SCREENSHOT_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from survey_app.db import db
from survey_app.models.reviews import PupilHope
from tests.browser.support import VIEWPORTS, save_screenshot
from tests.browser.test_accessibility import report
from tests.conftest import World
from tests.reviews.support import finish_with_levels, share_results


def test_my_results_page_has_no_axe_violations_and_works_by_keyboard(app, new_context):
    world = World(app)
    share_results(world.round)
    finish_with_levels(world, world.round, world.pupils[0],
                       {"perceived_learning_capability": 4, "preparedness_for_learning": 1})
    page = new_context().new_page()
    page.goto("/")
    page.get_by_label("Your code").fill(world.code_of(0))
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="What you feel good about")).to_be_visible()
    problems = []
    axe = Axe()
    shots = os.environ.get("SCREENSHOT_DIR")
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        if shots:
            save_screenshot(page, Path(shots), "my-results", viewport)
        found = axe.run(page).response["violations"]
        if found:
            problems.append(report(f"my results at {viewport}", found))
    assert not problems, "\n\n".join(problems)
    page.get_by_label("What I hope for").focus()
    page.keyboard.type("To run a club")
    page.keyboard.press("Tab")
    page.keyboard.type("Times tables")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Saved. Your tutor will read what you wrote.")).to_be_visible()
    hope = db.session.scalar(sa.select(PupilHope))
    assert (hope.hopes, hope.better_at) == ("To run a club", "Times tables")
