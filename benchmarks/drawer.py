#!/usr/bin/env python
"""Benchmark: one chart image from the warm drawer against a one-off child process.

Run from the project root with the project's venv:

    .venv/bin/python benchmarks/drawer.py [--runs 7]

Draws the same PNG chart of a hand-built cohort report (tests/cohort_sample.py) the two
ways the web app can, interleaved in one run (the machine is shared, so the ratio is what
counts): through the server's drawer (survey_app/exports/drawer.py, started by the first
request in a directory of this run's own, then kept warm), and through a one-off
`python -m survey_app.cohort.exports.isolated` child with its own Chromium (how every image was
drawn before the drawer, and the fallback when no drawer can be reached). Prints the
first (cold) drawer request, medians and p95 of both, their ratio, and the memory the warm
drawer holds (its process and its browser's, summed RSS), then stops the drawer.
Target: a warm image at least 3x faster than a one-off child.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survey_app.cohort.exports import drawer, images, isolated  # noqa: E402
from tests.cohort_sample import sample_report  # noqa: E402

TARGET_RATIO = 3.0


def rss_of_tree(pid: int) -> int:
    """Summed resident memory (bytes) of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed images each way (7)")
    args = parser.parse_args()
    if not images.browser_available():
        print(f"{images.browser_path()} not found: install Debian's chromium package")
        return 2
    report = sample_report()
    with tempfile.TemporaryDirectory(prefix="drawer-bench-") as tmp:
        os.environ["CHART_DRAWER_DIR"] = tmp
        try:
            start = time.perf_counter()
            isolated.export_isolated(report, "png", chart="change")
            cold = time.perf_counter() - start
            warm, child = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                made = isolated.export_isolated(report, "png", chart="change")
                warm.append(time.perf_counter() - start)
                start = time.perf_counter()
                again = isolated._in_child(("export", report, "png", "change"), None, isolated.QUICK_TIMEOUT_S)
                child.append(time.perf_counter() - start)
                assert made.data[:8] == again.data[:8] == b"\x89PNG\r\n\x1a\n"
            _, pid = drawer.ask(("pid",), timeout=10)
            held = rss_of_tree(pid)
        finally:
            drawer.stop(drawer.drawer_dir())
    ratio = statistics.median(child) / statistics.median(warm)
    print(f"PNG of the change chart, {args.runs} runs each way, interleaved")
    print(f"  drawer, first request (starts the drawer and its browser): {cold:.3f} s")
    print(f"  drawer, warm:     median {statistics.median(warm):.3f} s, p95 {p95(warm):.3f} s")
    print(f"  one-off child:    median {statistics.median(child):.3f} s, p95 {p95(child):.3f} s")
    print(f"  child / warm (medians): {ratio:.1f}x")
    print(f"  the warm drawer holds {held / 2**20:.0f} MiB (its process and its browser, summed RSS)")
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"{verdict}  a warm image at least {TARGET_RATIO:.0f}x faster than a one-off child ({ratio:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
