"""Handing freed memory back to the system, so a web worker's size stays flat.

A cohort report or an export allocates tens of megabytes for a moment. CPython frees it,
but glibc's allocator keeps freed blocks in per-thread arenas (up to eight per core), so
a threaded worker's resident size climbed in steps with each one. Two remedies, both
no-ops where the C library is not glibc: fewer arenas in each worker (`tune_malloc`,
called by gunicorn.conf.py after the fork), and `trim` after the large requests. Below
them, what gunicorn.conf.py loads before and after the fork so that workers start at
their working size.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_ARENA_MAX = -8  # mallopt parameter numbers in glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def tune_malloc(arenas: int = 4, mmap_threshold: int = 256 * 1024) -> bool:
    """In this process: at most `arenas` malloc arenas, and every block of
    `mmap_threshold` bytes or more in memory of its own, returned to the system when freed
    (glibc otherwise raises that threshold after the first large block is freed, and a
    later ZIP or report of a few megabytes stays in the heap). True when both took."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(_M_ARENA_MAX, arenas)) and bool(_LIBC.mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def trim() -> bool:
    """Return free memory at the top of malloc's heaps to the system; True when some was."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))


# What a staff member's first cohort page, chart or table download loads: about 90 MB that
# otherwise arrived in each worker at a moment of its own (benchmarks/load.py --soak saw
# workers grow in steps). Libraries are imported once in gunicorn's arbiter before the
# fork, so every worker shares them; the app's own heavy modules and plotly.js are
# loaded in each worker as it starts (the arbiter must not import our code: a reload,
# SIGHUP, starts workers with the new code). Each worker's size is then flat from its start.
LIBRARIES = ("numpy", "scipy.stats", "openpyxl", "plotly.graph_objects", "plotly.io")
APP_MODULES = (
    "survey_app.cohort.build", "survey_app.charts.cohort", "survey_app.charts.profile",
    "survey_app.cohort.exports", "survey_app.cohort.exports.tables", "survey_app.cohort.exports.interactive",
    "survey_app.cohort.exports.report", "survey_app.cohort.exports.bundle", "survey_app.cohort.exports.isolated",
)


def preload_libraries() -> None:
    """Import the libraries of the heavy staff pages (in gunicorn's arbiter)."""
    import importlib

    for name in LIBRARIES:
        importlib.import_module(name)
    # Plotly loads the checks for each kind of trace and layout part on first use.
    import plotly.graph_objects as go

    go.Figure(
        data=[dict(type="scatter", x=[0], y=[0], error_x=dict(type="data", array=[1]), mode="markers"),
              dict(type="bar", x=[0], y=[0])],
        layout=dict(shapes=[dict(type="line", x0=0, x1=1, y0=0, y1=1)], annotations=[dict(text="", x=0, y=0)],
                    xaxis2=dict(), yaxis2=dict(), legend=dict(), margin=dict()),
    ).to_json()
    _freeze()


def warm_worker(app) -> None:
    """Load the app's own heavy modules and the inlined plotly.js now (in each worker as
    it starts), not on some staff member's first request."""
    import importlib

    for name in APP_MODULES:
        importlib.import_module(name)
    from .cohort.exports.interactive import _plotly_js

    _plotly_js()
    _freeze()


def _freeze() -> None:
    # Everything loaded so far lives as long as the process: keep it out of the cyclic
    # garbage collector's full passes (hundreds of thousands of objects from the
    # libraries made each pass, and so every request now and then, slower).
    import gc

    gc.collect()
    gc.freeze()
