"""Exports that need the browser, made outside the web process.

Charts as PNG, SVG or PDF, the printable report and the ZIP are drawn by Chromium (through
Kaleido). Drawn in a web worker, they left a browser of about a gigabyte beside every
worker and the worker's own memory larger after each one. So the worker hands the
finished report (plain data, already suppressed) to another process:

- one chart, and the print view's charts, to the server's warm drawer
  (exports/drawer.py: one process and one browser shared by the workers, gone when idle),
  so a download a user waits for does not start a browser each time;
- the PDF report and the ZIP (background jobs) to a short-lived
  `python -m survey_app.cohort.exports.isolated` process, which draws it, reports progress as
  lines of JSON on its standard output and leaves the file for the worker to read; the
  browser and every byte it used go when that process ends.

Tables (CSV, XLSX) and interactive HTML need no browser and are made in the worker.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ...scoring.cohort_report import CohortReport
from . import ExportError, ExportFile, Progress, drawer, export_report
from .images import ImageExportError, close_browser
from .tasks import error_for, run_task

NEEDS_BROWSER = ("png", "svg", "pdf", "report", "zip")
WARM_FORMATS = ("png", "svg", "pdf")  # one chart: drawn by the warm drawer
log = logging.getLogger(__name__)

QUICK_TIMEOUT_S = 25.0  # a download the user waits for: under gunicorn's 30 s
BACKGROUND_TIMEOUT_S = 600.0
PROJECT = Path(__file__).resolve().parents[3]  # where `-m survey_app...` is found


def export_isolated(report: CohortReport, fmt: str, chart: str | None = None,
                    progress: Progress | None = None, timeout: float = QUICK_TIMEOUT_S) -> ExportFile:
    """Return export_report(report, fmt, chart), made outside this process when it needs the
    browser: one chart image by the server's warm drawer (exports/drawer.py), the PDF
    report and the ZIP by a child process of their own. Raises what export_report raises
    (ExportError, ImageExportError)."""
    if fmt not in NEEDS_BROWSER:
        return export_report(report, fmt, chart=chart, progress=progress)
    if fmt in WARM_FORMATS:
        return _warm(("export", report, fmt, chart), progress, timeout)
    return _in_child(("export", report, fmt, chart), progress, timeout)


def chart_images_isolated(report: CohortReport, timeout: float = QUICK_TIMEOUT_S) -> list:
    """Return exports.report.chart_images(report) (every chart as SVG), drawn by the warm
    drawer: the print view's charts. Raises ImageExportError when they cannot be drawn."""
    return _warm(("charts", report), None, timeout)


def _warm(task: tuple, progress: Progress | None, timeout: float):
    """Ask the server's drawer; when it cannot be reached, draw in a child process."""
    started = time.monotonic()
    try:
        reply = drawer.ask(task, timeout)
    except TimeoutError:
        raise ImageExportError("Drawing the export took too long. Please try again.") from None
    except drawer.DrawerUnavailable:
        log.warning("The chart drawer could not be reached; drawing in a child process", exc_info=True)
        return _in_child(task, progress, max(1.0, timeout - (time.monotonic() - started)))
    if reply[0] == "ok":
        return reply[1]
    _, kind, message = reply
    raise error_for(kind, message)


def _in_child(task: tuple, progress: Progress | None, timeout: float):
    with tempfile.TemporaryDirectory(prefix="survey-export-") as tmp:
        result, errors = Path(tmp) / "result.pickle", Path(tmp) / "stderr.txt"
        with errors.open("wb") as stderr:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "survey_app.cohort.exports.isolated", str(result)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=PROJECT,
            )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            try:
                proc.stdin.write(pickle.dumps(task))
                proc.stdin.close()
            except BrokenPipeError:
                pass  # the child ended at once: its standard error says why
            for line in proc.stdout:
                _relay(line, progress)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0 or not result.exists():
            _raise_from(errors.read_text(errors="replace"), timed_out=code == -9)
        return pickle.loads(result.read_bytes())  # noqa: S301 - written by our own child process


def _relay(line: bytes, progress: Progress | None) -> None:
    try:
        step = json.loads(line)
    except ValueError:
        return
    if progress is not None and isinstance(step, dict) and "progress" in step:
        progress(float(step["progress"]), str(step.get("message", "")))


def _raise_from(stderr: str, timed_out: bool) -> None:
    if timed_out:
        raise ImageExportError("Drawing the export took too long. Please try again.")
    last = stderr.strip().splitlines()[-1:] or [""]
    kind, _, message = last[0].partition(": ")
    raise error_for(kind, message)






def main(argv: list[str]) -> int:
    """The child: read a task from standard input ("export", report, format, chart) or
    ("charts", report), do it, write the result to the file named in argv[1]."""
    out = Path(argv[1])
    task = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our parent process

    def step(fraction: float, message: str) -> None:
        print(json.dumps({"progress": fraction, "message": message}), flush=True)

    try:
        made = run_task(task, step)
    except (ExportError, ImageExportError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        close_browser()
    part = out.with_suffix(".part")
    part.write_bytes(pickle.dumps(made))
    part.rename(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
