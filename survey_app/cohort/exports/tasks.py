"""What an export task is, how it is done, and how its failure comes back.

A task is a tuple: ("export", report, format, chart) or ("charts", report). The warm
drawer (drawer.py) and the one-off child process (isolated.py) both do tasks with
`run_task`; a failure reported by class name (from the drawer's reply or the child's
standard error) becomes the worker's exception with `error_for`.
"""

from __future__ import annotations

from . import ExportError, Progress, export_report
from .images import ImageExportError
from .report import chart_images


def error_for(kind: str, message: str) -> Exception:
    """The worker's exception for an error the child or the drawer reported by class name."""
    if kind.endswith("ExportError") and kind != "ImageExportError":
        return ExportError(message)
    return ImageExportError(message or "The export could not be drawn.")


def run_task(task: tuple, progress: Progress | None = None):
    """Do a task in this process: ("export", report, format, chart) or ("charts", report)."""
    if task[0] == "charts":
        return chart_images(task[1])
    _, report, fmt, chart = task
    return export_report(report, fmt, chart=chart, progress=progress)

