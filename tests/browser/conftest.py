"""Fixtures for the browser tests: Debian's Chromium, and the app served on a real port.

The app runs in a thread of the test process on each backend of tests/conftest.py
(SQLite and PostgreSQL), so a test can drive the browser and then look straight into
the database through the `app` fixture's context (`db.session`).

Without /usr/bin/chromium every test here is skipped with the reason shown; with
REQUIRE_BROWSER=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    DEFAULT_TIMEOUT_MS,
    VIEWPORTS,
    LiveServer,
)

REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"

expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The base URL of the app (tables emptied by `app`), served on each backend."""
    server = LiveServer(app).start()
    yield server.url
    server.stop()


@pytest.fixture
def new_context(browser, live_server) -> Iterator[Callable[..., object]]:
    """A factory of fresh browser contexts on the live server; all closed afterwards."""
    contexts = []

    def make(**options):
        options.setdefault("base_url", live_server)
        options.setdefault("viewport", VIEWPORTS["desktop"])
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
