"""axe-core on every staff page, at desktop and tablet widths; screenshots on request.

One browser context per width walks through every staff page in turn (signing in as the
lead, a teacher and the administrator) and axe runs once on each page it loads. The two
walks take turns: while axe checks a page at one width, the other width's page loads or
is checked, so the browser's two renderers keep both cores busy.

With SCREENSHOT_DIR set, a full-page PNG of each page is saved there as
staff-NAME-VIEWPORT.png. Without it nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from survey_app.models.upn import make_upn
from tests.browser.staff import (
    STAFF_PAGES,
    collect_axe,
    prepare_staff_world,
    staff_tour,
    start_axe,
    write_roster,
)
from tests.browser.support import VIEWPORTS, save_screenshot
from tests.browser.test_accessibility import report
from tests.conftest import StaffWorld


@dataclass
class Walk:
    """One width's walk through the staff pages."""

    viewport: str
    page: Page
    steps: Iterator[str]
    name: str | None = None
    seen: list[str] = field(default_factory=list)


def test_every_staff_page_has_no_axe_violations(app, new_context, tmp_path):
    world = StaffWorld(app)
    prepare_staff_world(world)
    changed = world.pupils[3]
    roster = write_roster(tmp_path / "roster.csv", [
        [make_upn(201, 4000, 15, 50), "Adeyemi", "Ada", "7", "7A", "F", "N", "No", "No"],
        [changed.upn, changed.surname, changed.first_name, str(changed.year_group), "10Z", "", "N", "No", "No"],
        ["", "Carter", "Cat", "7", "7A", "F", "N", "No", "No"],
        [make_upn(201, 4000, 15, 51), "Evans", "Eve", "Y99", "", "F", "N", "No", "No"],
    ])
    shots = os.environ.get("SCREENSHOT_DIR")
    axe, problems = Axe(), []
    walks = []
    for viewport, size in VIEWPORTS.items():
        page = new_context(viewport=size).new_page()
        walks.append(Walk(viewport, page, staff_tour(page, world, roster)))

    active = list(walks)
    while active:
        for walk in list(active):
            if walk.name is not None:  # the page checked last time round: read axe's answer
                found = collect_axe(walk.page)
                if found:
                    problems.append(report(f"{walk.name} at {walk.viewport} ({walk.page.url})", found))
                if shots:
                    save_screenshot(walk.page, Path(shots), f"staff-{walk.name}", walk.viewport)
            walk.name = next(walk.steps, None)
            if walk.name is None:
                active.remove(walk)
                continue
            walk.seen.append(walk.name)
            start_axe(walk.page, axe)

    for walk in walks:
        assert walk.seen == STAFF_PAGES, walk.viewport
    assert not problems, "axe found accessibility violations:\n\n" + "\n\n".join(problems)
