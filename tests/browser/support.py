"""Shared by the browser tests and the screenshot script: the server, Chromium, the tour.

`tour()` walks a pupil through every page they can meet, stopping on each so the caller
can run axe or take a screenshot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.browser.pupil import choose, label_for, sign_in, statement, wait_saved

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "tablet": {"width": 768, "height": 1024},
}
# Generous: a shared CI machine can be slow; a passing run never waits this long.
DEFAULT_TIMEOUT_MS = 15_000


def launch_chromium(playwright):
    """Return Debian's Chromium, headless, with quiet flags that need no network."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's request handler without a log line per request."""

    def log_request(self, code="-", size="-"):
        pass


class LiveServer:
    """A WSGI app served by Werkzeug in a daemon thread on a free local port."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
            name="live-server", daemon=True,
        )

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def tour(context: BrowserContext, world, pupil_index: int = 0) -> Iterator[tuple[str, Page]]:
    """Yield (name, page) at every pupil page, in the state a pupil would see it.

    Uses the page-mode round of `world` (pass9-secondary) and the pupil's code; leaves
    that pupil's response finished.
    """
    code = world.code_of(pupil_index)
    page = context.new_page()

    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    yield "start", page

    page.get_by_label("Your code").fill("ZZZZ-ZZZZ")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_be_visible()
    yield "start-bad-code", page

    page.get_by_label("Your code").fill(code)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="Is this you?")).to_be_visible()
    yield "confirm", page

    page.get_by_role("button", name="No, this is not me").click()
    expect(page.get_by_role("status")).to_contain_text("Check the code on your slip")
    yield "start-not-me", page

    sign_in(page, code)
    for index in (0, 1):
        choose(page, index + 1, label_for(world, index))
    wait_saved(page)
    yield "survey-page", page

    context.set_offline(True)
    choose(page, 3, label_for(world, 2))
    expect(page.locator("#save-status")).to_have_attribute("data-state", "offline")
    yield "survey-offline", page
    context.set_offline(False)
    wait_saved(page, timeout=20_000)

    page.get_by_role("button", name="Show one statement at a time").click()
    page.wait_for_url("**/survey/s/1")
    page.get_by_role("button", name="Next").click()
    expect(statement(page, 2)).to_be_visible()
    yield "survey-single", page

    page.get_by_role("button", name="Check and finish").click()
    expect(page.get_by_role("heading", name="Check before you finish")).to_be_visible()
    expect(page.locator(".missing-list li").first).to_be_visible()
    yield "check", page

    page.get_by_role("button", name="Finish for now").click()
    expect(page.get_by_role("heading", name="Your answers are saved")).to_be_visible()
    yield "signed-out", page

    sign_in(page, code)
    page.goto("/survey/check")
    page.get_by_role("button", name="Finish the survey").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    yield "thanks", page

    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    yield "not-found", page

    page.close()


def save_screenshot(page: Page, folder: Path, name: str, viewport: str) -> Path:
    """Save a full-page PNG of `page` as FOLDER/NAME-VIEWPORT.png and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{viewport}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path
