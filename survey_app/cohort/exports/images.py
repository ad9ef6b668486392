"""PNG, SVG and PDF images of Plotly figures, drawn by Kaleido 1.x in one warm Chromium.

Kaleido drives Debian's Chromium (headless, no sandbox, through a pipe) and loads the
plotly.js bundled with the plotly package from disk; MathJax is switched off, so nothing
is fetched from the network. Starting a browser takes a few seconds, so one browser is
kept open per process and reused for every image: an asyncio loop runs in a daemon
thread and owns the `Kaleido` object, and callers on any thread (the CLI, a web request,
a background job) hand it work under a lock. Kaleido's own `start_sync_server` does the
same but shares one result queue between callers and has no time limit, so two request
threads could swap images; this helper keeps the result with its caller.

A browser that fails or hangs is closed and a fresh one started on the next call.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

log = logging.getLogger(__name__)

IMAGE_FORMATS = ("png", "svg", "pdf")
DEFAULT_WIDTH = 1100
DEFAULT_HEIGHT = 650
START_TIMEOUT = 60  # seconds for Chromium to start
RENDER_TIMEOUT = 60  # seconds for one image or one printed page set


class ImageExportError(RuntimeError):
    """An image could not be made; the message is fit to show to staff."""


def browser_path() -> Path:
    """Return the Chromium that draws images (CHROMIUM_PATH, default Debian's /usr/bin/chromium)."""
    return Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def browser_available() -> bool:
    return browser_path().is_file()


class _WarmBrowser:
    """One Kaleido (one Chromium) per process, used by every thread in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None
        self._registered = False

    def _start(self) -> None:
        path = browser_path()
        if not path.is_file():
            raise ImageExportError(
                f"Chart images need the Chromium browser at {path}, which is not installed on this server."
            )
        import kaleido

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="kaleido-browser", daemon=True)
        thread.start()

        async def open_browser():
            browser = kaleido.Kaleido(path=str(path), mathjax=False, timeout=RENDER_TIMEOUT, n=1)
            await browser.open()
            return browser

        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_browser(), loop).result(timeout=START_TIMEOUT)
        except BaseException as exc:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            raise ImageExportError("The browser that draws chart images did not start.") from exc
        self._loop, self._thread, self._pid = loop, thread, os.getpid()
        if not self._registered:
            atexit.register(self.close)
            self._registered = True

    def _stop(self) -> None:
        loop, thread, browser = self._loop, self._thread, self._kaleido
        self._loop = self._thread = self._kaleido = None
        if loop is None or self._pid != os.getpid():
            return  # nothing open, or the parent's browser after a fork: not ours to close
        try:
            asyncio.run_coroutine_threadsafe(browser.close(), loop).result(timeout=15)
        except Exception:  # noqa: BLE001 - closing a broken browser may fail; it is gone either way
            log.warning("Closing the image browser failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if thread is None or not thread.is_alive():
            loop.close()

    def close(self) -> None:
        """Close the browser (at exit, or in tests); the next call starts a new one."""
        with self._lock:
            self._stop()

    @property
    def running(self) -> bool:
        return self._loop is not None and self._pid == os.getpid()

    def run(self, work: Callable[[Any], Awaitable[Any]], timeout: float = RENDER_TIMEOUT) -> Any:
        """Run `work(kaleido)` on the browser's loop and return its result."""
        with self._lock:
            if self._pid != os.getpid():  # forked (e.g. a preloading server): start our own
                self._loop = self._thread = self._kaleido = None
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                self._start()
            future = asyncio.run_coroutine_threadsafe(work(self._kaleido), self._loop)  # type: ignore[arg-type]
            try:
                return future.result(timeout=timeout)
            except concurrent.futures.TimeoutError as exc:
                future.cancel()
                self._stop()
                raise ImageExportError("Drawing the chart took too long; please try again.") from exc
            except Exception as exc:
                self._stop()
                raise ImageExportError("The chart could not be drawn as an image.") from exc


_browser = _WarmBrowser()


def close_browser() -> None:
    """Close the warm browser (it starts again when next needed)."""
    _browser.close()


def browser_running() -> bool:
    return _browser.running


def figure_bytes(fig: go.Figure | dict, fmt: str, width: int | None = None, height: int | None = None,
                 scale: float = 1) -> bytes:
    """Return the figure drawn as PNG, SVG or PDF bytes.

    Width and height default to the figure's own layout size (else 1100 by 650); a PNG is
    `scale` times that many pixels. Raises ValueError for another format and
    ImageExportError when the browser is missing, fails or takes too long.
    """
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"Images can be PNG, SVG or PDF, not {fmt!r}.")
    spec = fig.to_dict() if isinstance(fig, go.Figure) else fig
    layout = spec.get("layout", {})
    opts = dict(format=fmt, width=width or layout.get("width") or DEFAULT_WIDTH,
                height=height or layout.get("height") or DEFAULT_HEIGHT, scale=scale)
    data = _browser.run(lambda browser: browser.calc_fig(spec, opts=opts))
    return bytes(data)


def html_to_pdf(path: Path, footer_html: str = "") -> bytes:
    """Return the HTML file at `path` printed to PDF by the warm browser (A4 unless its CSS
    sets @page), with `footer_html` (Chromium's footer template) at the foot of each page."""
    uri = path.resolve().as_uri()

    async def work(browser) -> bytes:
        tab = await browser.create_tab("", window=True)
        try:
            loaded = tab.subscribe_once("Page.loadEventFired")
            await tab.send_command("Page.enable")
            await tab.send_command("Page.navigate", params={"url": uri})
            await loaded
            params = {"printBackground": True, "preferCSSPageSize": True,
                      "displayHeaderFooter": bool(footer_html),
                      "headerTemplate": "<span></span>", "footerTemplate": footer_html or "<span></span>"}
            response = await tab.send_command("Page.printToPDF", params=params)
            if "error" in response:
                raise ImageExportError(f"Printing failed: {response['error']}")
            return base64.b64decode(response["result"]["data"])
        finally:
            await browser.close_tab(tab.target_id)

    return _browser.run(work)
