"""axe-core on every pupil page, at desktop and tablet widths; screenshots on request.

With SCREENSHOT_DIR set, a full-page PNG of each page is saved there as
NAME-VIEWPORT.png (e.g. `SCREENSHOT_DIR=screenshots pytest tests/browser -k axe`).
Without it nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from axe_playwright_python.sync_playwright import DEFAULT_OPTIONS, Axe
from playwright.sync_api import Page

from tests.browser.support import VIEWPORTS, save_screenshot, tour
from tests.conftest import World

PAGES = [
    "start", "start-bad-code", "confirm", "start-not-me", "survey-page", "survey-offline",
    "survey-single", "check", "signed-out", "thanks", "not-found",
]
# The offline screen is the survey page again with a new status line: check just that.
SCOPES = {"survey-offline": "#save-status"}


def report(name: str, violations: list[dict]) -> str:
    """Return the violations of one page in a form a person can act on."""
    lines = [f"== {name}: {len(violations)} violation(s)"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  [{v['helpUrl']}]")
        for node in v["nodes"][:5]:
            lines.append(f"    at {', '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n       ")
            if summary:
                lines.append(f"       {summary}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def violations(page: Page, axe: Axe, scope: str | None, first: bool) -> list[dict]:
    """Run axe on `page` (only `scope` when given); inject the script on the first run only."""
    if first:
        return axe.run(page, context=scope).response["violations"]
    target = json.dumps(scope) if scope else "document"
    return page.evaluate(f"axe.run({target}, {json.dumps(DEFAULT_OPTIONS)})")["violations"]


def test_every_pupil_page_has_no_axe_violations(app, new_context):
    """Each page is checked as it is, then again after narrowing the window to a tablet's."""
    world = World(app)
    context = new_context(viewport=VIEWPORTS["desktop"])
    axe = Axe()
    shots = os.environ.get("SCREENSHOT_DIR")
    seen, problems = [], []
    for name, page in tour(context, world):
        seen.append(name)
        for number, (viewport, size) in enumerate(VIEWPORTS.items()):
            page.set_viewport_size(size)
            if shots:
                save_screenshot(page, Path(shots), name, viewport)
            found = violations(page, axe, SCOPES.get(name), first=number == 0)
            if found:
                problems.append(report(f"{name} at {viewport} ({page.url})", found))
        page.set_viewport_size(VIEWPORTS["desktop"])
    assert seen == PAGES
    assert not problems, "axe found accessibility violations:\n\n" + "\n\n".join(problems)
