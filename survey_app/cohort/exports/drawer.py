"""One warm drawing process per server, for the chart images a user waits for.

A chart as PNG, SVG or PDF, and the charts of the print view, are drawn by Chromium
(through Kaleido). Starting Chromium takes seconds, and keeping one beside every web
worker cost about a gigabyte each (exports/isolated.py). So the web workers of a server
share one drawer: `python -m survey_app.cohort.exports.drawer DIR`, started by the first worker
that needs it, listening on a Unix socket in DIR (a directory only this user can open). It
keeps one browser open (exports/images.py) and draws one request at a time; after
CHART_DRAWER_IDLE_SECONDS (600) without work it closes the browser and exits, so an idle
server holds no browser at all.

A request is the task of exports/isolated.py (the finished, suppressed report as plain
data), sent as a length-prefixed pickle; the reply is ("ok", result) or ("error", kind,
message). DIR is keyed by the user, the code of the drawing modules and the Chromium
path, so a deploy or another browser gets a drawer of its own (the old one exits when
idle). When no drawer can be reached, the caller draws in a one-off child instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pickle
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import ExportError
from .images import ImageExportError, close_browser
from .tasks import run_task

SOCKET = "drawer.sock"
LOCK = "drawer.lock"
HEADER = struct.Struct("!Q")
PACKAGE = Path(__file__).resolve().parents[2]  # survey_app/


class DrawerUnavailable(RuntimeError):
    """No drawer could be started or reached, or it went away during the request."""


def idle_seconds() -> float:
    return float(os.environ.get("CHART_DRAWER_IDLE_SECONDS", "600"))


@functools.cache
def _code_version() -> str:
    digest = hashlib.sha256()
    sources = [*sorted((PACKAGE / "cohort" / "exports").glob("*.py")), *sorted((PACKAGE / "charts").glob("*.py")),
               PACKAGE / "scoring" / "cohort_report.py"]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def drawer_dir() -> Path:
    """The drawer's directory, for this user, code and browser: under CHART_DRAWER_DIR,
    else under the system's temporary directory."""
    base = Path(os.environ.get("CHART_DRAWER_DIR") or tempfile.gettempdir())
    browser = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    key = hashlib.sha256(f"{_code_version()} {browser}".encode()).hexdigest()[:12]
    return base / f"survey-drawer-{os.getuid()}-{key}"


def stop(directory: Path) -> bool:
    """Ask the drawer in `directory` to finish (not starting one); True when one was there."""
    conn = _try_connect(directory / SOCKET)
    if conn is None:
        return False
    with conn:
        conn.settimeout(10)
        _send(conn, pickle.dumps(("stop",)))
        with contextlib.suppress(OSError, EOFError):
            _receive(conn)
    return True


# ----- the web worker's side -----------------------------------------------------------


def ask(task: tuple, timeout: float, directory: Path | None = None):
    """Send `task` to the drawer (starting it when none runs) and return its reply:
    ("ok", result) or ("error", kind, message). Raises DrawerUnavailable."""
    directory = directory or drawer_dir()
    deadline = time.monotonic() + timeout
    conn = _connect(directory, deadline)
    try:
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        _send(conn, pickle.dumps(task))
        return pickle.loads(_receive(conn))  # noqa: S301 - from our own drawer, over a private socket
    except TimeoutError:
        raise
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise DrawerUnavailable(f"the drawer went away ({exc})") from exc
    finally:
        conn.close()


def _try_connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(5)  # a drawer too busy to accept: give up rather than hang the request
    try:
        conn.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        conn.close()
        return None
    except OSError:  # e.g. a path too long for a Unix socket: said by the caller
        conn.close()
        raise
    return conn


def _private(directory: Path) -> None:
    """Make `directory` (0700) or check that it is ours alone: a directory another user made
    under /tmp with this name could hold a socket of theirs, whose replies we unpickle."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) != 0o700:
        raise DrawerUnavailable(f"{directory} is not a private directory of this user")


def _connect(directory: Path, deadline: float) -> socket.socket:
    path = directory / SOCKET
    try:
        _private(directory)
    except OSError as exc:
        raise DrawerUnavailable(f"no directory for the drawer ({exc})") from exc
    conn = _try_connect(path)
    if conn is not None:
        return conn
    try:
        with open(directory / LOCK, "a") as lock:  # one worker starts it; the others wait here
            _lock(lock, deadline)
            conn = _try_connect(path)
            if conn is not None:
                return conn
            _start(directory)
            while time.monotonic() < deadline:
                conn = _try_connect(path)
                if conn is not None:
                    return conn
                time.sleep(0.05)
    except OSError as exc:
        raise DrawerUnavailable(f"the drawer could not be started ({exc})") from exc
    raise DrawerUnavailable("the drawer did not start in time")


def _lock(handle, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise DrawerUnavailable("another worker is still starting the drawer") from None
            time.sleep(0.05)


def _start(directory: Path) -> None:
    """Start a drawer for `directory`, detached: a helper process forks it into a session
    of its own and ends at once, so no worker waits for it or has to reap it."""
    (directory / SOCKET).unlink(missing_ok=True)  # left by a drawer that was killed
    with open(directory / "drawer.log", "ab") as log:
        helper = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "survey_app.cohort.exports.drawer", str(directory), "--detach"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=PACKAGE.parent, timeout=30, check=False,
        )
    if helper.returncode != 0:
        raise DrawerUnavailable(f"the drawer's starter failed (exit {helper.returncode}); see {log.name}")


def _send(conn: socket.socket, data: bytes) -> None:
    conn.sendall(HEADER.pack(len(data)) + data)


def _receive(conn: socket.socket) -> bytes:
    (size,) = HEADER.unpack(_exactly(conn, HEADER.size))
    return _exactly(conn, size)


def _exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ----- the drawer ------------------------------------------------------------------------


class _Drawer:
    def __init__(self, directory: Path, idle: float):
        self.directory, self.idle = directory, idle
        self.busy = 0
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def serve(self) -> None:
        path = self.directory / SOCKET
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        os.chmod(path, 0o600)
        mine = path.stat().st_ino
        server.listen(64)
        server.settimeout(0.5)
        try:
            while not self.stopping.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    with self.lock:
                        if not self.busy and time.monotonic() - self.last > self.idle:
                            break
                    continue
                with self.lock:
                    self.busy += 1
                threading.Thread(target=self._handle, args=(conn,), daemon=True, name="drawer-request").start()
        finally:
            # Gone from the directory before it stops listening, under the start lock, so
            # a worker that cannot reach it starts a new drawer rather than waiting on this one.
            with open(self.directory / LOCK, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_ino == mine:  # not a newer drawer's
                        path.unlink()
                server.close()
            close_browser()

    def _handle(self, conn: socket.socket) -> None:
        try:
            with conn:
                task = pickle.loads(_receive(conn))  # noqa: S301 - private socket, same user
                _send(conn, pickle.dumps(self._do(task)))
        except (OSError, EOFError):
            pass  # the worker gave up waiting: nothing to tell it
        finally:
            with self.lock:
                self.busy -= 1
                self.last = time.monotonic()

    def _do(self, task: tuple) -> tuple:
        if task[0] == "pid":
            return ("ok", os.getpid())
        if task[0] == "stop":
            self.stopping.set()
            return ("ok", None)
        try:
            return ("ok", run_task(task))
        except (ExportError, ImageExportError) as exc:
            return ("error", type(exc).__name__, str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the worker, which shows a 503
            return ("error", "ImageExportError", f"The chart could not be drawn ({type(exc).__name__}).")


def main(argv: list[str]) -> int:
    directory = Path(argv[1])
    if argv[2:] == ["--detach"]:
        if os.fork():  # this small process has no threads yet, so forking is safe
            return 0
        os.setsid()  # not stopped with the worker, or its terminal, that asked for it
        os.execv(sys.executable, [sys.executable, "-m", "survey_app.cohort.exports.drawer", str(directory)])  # noqa: S606
    _Drawer(directory, idle_seconds()).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
