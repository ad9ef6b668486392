"""The server's warm chart drawer (exports/drawer.py): one process and one browser shared
by the web workers for the images a user waits for, replaced when it dies, gone when idle."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest

from survey_app.cohort.exports import drawer, images, isolated
from tests.cohort_sample import sample_report
from tests.conftest import need_chart_browser, short_tmp_dir


@pytest.fixture(scope="module")
def report():
    need_chart_browser()
    return sample_report()


@pytest.fixture
def own_drawer(monkeypatch):
    """A drawer directory of this test alone (stopped and removed afterwards)."""
    base = short_tmp_dir("drawer-")
    monkeypatch.setenv("CHART_DRAWER_DIR", str(base))
    yield base
    for directory in base.iterdir():
        if directory.is_dir():
            drawer.stop(directory)
    shutil.rmtree(base, ignore_errors=True)


def drawer_pid() -> int:
    status, pid = drawer.ask(("pid",), timeout=20)
    assert status == "ok"
    return pid


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_chart_downloads_share_one_warm_drawer_outside_this_process(report, own_drawer):
    png = isolated.export_isolated(report, "png", chart="change")
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    pid = drawer_pid()
    svg = isolated.export_isolated(report, "svg", chart="means")
    assert svg.data.lstrip().startswith(b"<svg") or b"<svg" in svg.data[:200]
    charts = isolated.chart_images_isolated(report)
    assert len(charts) >= 3
    assert drawer_pid() == pid != os.getpid()  # the same drawer drew all three
    assert not images.browser_running()  # and no browser was started in this process
    socket_file = drawer.drawer_dir() / drawer.SOCKET
    assert oct(socket_file.stat().st_mode & 0o777) == oct(0o600)
    assert oct(socket_file.parent.stat().st_mode & 0o777) == oct(0o700)


def test_a_killed_drawer_is_replaced_and_a_missing_one_drawn_around(report, own_drawer, monkeypatch):
    isolated.export_isolated(report, "png", chart="bands")
    first = drawer_pid()
    os.kill(first, signal.SIGKILL)
    assert gone(first, 10)
    again = isolated.export_isolated(report, "pdf", chart="change")
    assert again.data[:5] == b"%PDF-"
    assert drawer_pid() != first

    def unreachable(*args, **kwargs):
        raise drawer.DrawerUnavailable("no drawer here")

    monkeypatch.setattr(drawer, "ask", unreachable)  # e.g. no room for its socket
    drawn = isolated.export_isolated(report, "png", chart="means")  # by a one-off child instead
    assert drawn.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_workers_asking_at_once_start_one_drawer(own_drawer):
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(drawer_pid())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pids) == 4 and len(set(pids)) == 1


def test_an_idle_drawer_closes_and_the_next_request_starts_another(own_drawer, monkeypatch):
    monkeypatch.setenv("CHART_DRAWER_IDLE_SECONDS", "1")
    pid = drawer_pid()
    assert gone(pid, 15)
    assert not (drawer.drawer_dir() / drawer.SOCKET).exists()
    assert drawer_pid() != pid


def test_a_drawing_error_comes_back_as_the_worker_s_error(report, own_drawer, monkeypatch):
    monkeypatch.setenv("CHROMIUM_PATH", "/nonexistent/chromium")  # another browser: another drawer
    with pytest.raises(images.ImageExportError, match="/nonexistent/chromium"):
        isolated.export_isolated(report, "svg", chart="change")


def test_a_drawer_directory_others_could_write_is_not_used(report, own_drawer):
    """Someone else's (or a loose) directory under the drawer's name could hold their own
    socket: the worker refuses it and draws in a one-off child instead."""
    directory = drawer.drawer_dir()
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    with pytest.raises(drawer.DrawerUnavailable, match="not a private directory"):
        drawer.ask(("pid",), timeout=5)
    made = isolated.export_isolated(report, "png", chart="change")
    assert made.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (directory / drawer.SOCKET).exists()
