"""Save full-page screenshots of every pupil page, at desktop and tablet widths.

    python -m tests.browser.screenshots OUTDIR

Builds a throwaway SQLite database with a test school (nothing else is touched),
serves the app on a free local port, and walks a pupil through the survey with
Debian's Chromium, saving OUTDIR/NAME-VIEWPORT.png at each page. (The browser tests
do the same into $SCREENSHOT_DIR when it is set.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from survey_app.db import db
from tests.browser.support import (
    CHROMIUM,
    DEFAULT_TIMEOUT_MS,
    VIEWPORTS,
    LiveServer,
    launch_chromium,
    save_screenshot,
    tour,
)
from tests.conftest import World, make_test_app


def take_screenshots(out: Path) -> list[Path]:
    """Save a PNG of each pupil page at each width into `out`; return their paths."""
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="survey-shots-") as tmp:
        app = make_test_app("sqlite:///" + str(Path(tmp) / "shots.sqlite3"))
        with app.app_context():
            db.create_all()
            world = World(app, pupils=len(VIEWPORTS))
            server = LiveServer(app).start()
            try:
                with sync_playwright() as playwright:
                    browser = launch_chromium(playwright)
                    for pupil, (viewport, size) in enumerate(VIEWPORTS.items()):
                        context = browser.new_context(base_url=server.url, viewport=size)
                        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
                        for name, page in tour(context, world, pupil_index=pupil):
                            saved.append(save_screenshot(page, out, name, viewport))
                        context.close()
                    browser.close()
            finally:
                server.stop()
                db.session.remove()
                db.engine.dispose()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="folder for the PNG files (created if needed)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium package", file=sys.stderr)
        return 2
    for path in take_screenshots(args.outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
