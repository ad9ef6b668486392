"""Exports that need the browser, made in a child process.

Charts as PNG, SVG or PDF, the printable report and the ZIP are drawn by Chromium (through
Kaleido). Drawn in a web worker, they left a browser of about a gigabyte beside every
worker and the worker's own memory larger after each one. Here the worker hands the
finished report (plain data, already suppressed) to a short-lived
`python -m survey_app.exports.isolated` process, which draws it, reports progress as lines
of JSON on its standard output and leaves the file for the worker to read; the browser
and every byte it used go when that process ends. Tables (CSV, XLSX) and interactive
HTML need no browser and are made in the worker as before.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from survey_app.cohort.report import CohortReport
from survey_app.exports import ExportError, ExportFile, Progress, export_report
from survey_app.exports.images import ImageExportError

NEEDS_BROWSER = ("png", "svg", "pdf", "report", "zip")
QUICK_TIMEOUT_S = 25.0  # a download the user waits for: under gunicorn's 30 s
BACKGROUND_TIMEOUT_S = 600.0
PROJECT = Path(__file__).resolve().parents[2]  # where `-m survey_app...` is found


def export_isolated(report: CohortReport, fmt: str, chart: str | None = None,
                    progress: Progress | None = None, timeout: float = QUICK_TIMEOUT_S) -> ExportFile:
    """Return export_report(report, fmt, chart), made in a child process when it needs the
    browser. Raises what export_report raises (ExportError, ImageExportError)."""
    if fmt not in NEEDS_BROWSER:
        return export_report(report, fmt, chart=chart, progress=progress)
    return _in_child(("export", report, fmt, chart), progress, timeout)


def chart_images_isolated(report: CohortReport, timeout: float = QUICK_TIMEOUT_S) -> list:
    """Return exports.report.chart_images(report) (every chart as SVG), drawn in a child
    process: the print view's charts. Raises ImageExportError when they cannot be drawn."""
    return _in_child(("charts", report), None, timeout)


def _in_child(task: tuple, progress: Progress | None, timeout: float):
    with tempfile.TemporaryDirectory(prefix="survey-export-") as tmp:
        result, errors = Path(tmp) / "result.pickle", Path(tmp) / "stderr.txt"
        with errors.open("wb") as stderr:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "survey_app.exports.isolated", str(result)],
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
    if kind.endswith("ExportError") and kind != "ImageExportError":
        raise ExportError(message)
    raise ImageExportError(message or "The export could not be drawn.")


def main(argv: list[str]) -> int:
    """The child: read a task from standard input ("export", report, format, chart) or
    ("charts", report), do it, write the result to the file named in argv[1]."""
    out = Path(argv[1])
    task = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our parent process

    def step(fraction: float, message: str) -> None:
        print(json.dumps({"progress": fraction, "message": message}), flush=True)

    from survey_app.exports.images import close_browser
    from survey_app.exports.report import chart_images

    try:
        if task[0] == "charts":
            made = chart_images(task[1])
        else:
            _, report, fmt, chart = task
            made = export_report(report, fmt, chart=chart, progress=step)
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
