"""Handing freed memory back to the system, so a web worker's size stays flat.

A cohort report or an export allocates tens of megabytes for a moment. CPython frees it,
but glibc's allocator keeps freed blocks in per-thread arenas (up to eight per core), so
a threaded worker's resident size climbed in steps with each one. Two remedies, both
no-ops where the C library is not glibc: fewer arenas in each worker (`limit_arenas`,
called by gunicorn.conf.py after the fork), and `trim` after the large requests.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_ARENA_MAX = -8  # mallopt parameter number in glibc's malloc.h


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def limit_arenas(count: int = 2) -> bool:
    """Let malloc use at most `count` arenas in this process; True when it took."""
    return bool(_LIBC is not None and _LIBC.mallopt(_M_ARENA_MAX, count))


def trim() -> bool:
    """Return free memory at the top of malloc's heaps to the system; True when some was."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
