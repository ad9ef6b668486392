#!/usr/bin/env python
"""Load benchmark: a year group taking the survey while staff work, against production gunicorn.

Run from the project root (inside the venv):

    python benchmarks/load.py                   # 300 pupils, 10 staff, 2 exports
    python benchmarks/load.py --soak 900        # the same load kept up for 15 minutes
    python benchmarks/load.py --quick           # a short smoke run (30 pupils, 10 answers)
    python benchmarks/load.py --staff 0 --no-exports   # the pupils alone, to compare

Set-up: a throwaway PostgreSQL schema on 127.0.0.1:5432 (BENCH_PG_URL; dropped at the
end), `flask db upgrade`, the demo partnership (`build_demo_data`: five schools, 300
pupils in ten groups, rounds before and during finished, after partly answered, an
admin, a lead and a teacher per group), and one open "follow-up" round with a code for
every pupil (with --soak, one round per wave, see below). gunicorn runs with the
production settings of gunicorn.conf.py (4 gthread workers x 8 threads, SURVEY_ENV=
production) and rate limits in Redis (redis://127.0.0.1:6379/11, this benchmark's own
database number; its keys are removed at the end).

The load, all at once:

- pupils (300): arrive over 10 s, sign in with their code (GET and POST /, GET and POST
  /confirm), open the survey (GET /survey, then the first screen), answer every statement
  of pass9-secondary one at a time with autosave (`POST /survey/api/answers`, a click every
  1.0-2.5 s, as benchmarks/autosave.py), then open the check page, finish
  (`POST /survey/finish`) and see the thank-you page. A save that fails is sent again
  after 1 s, 2 s, 4 s... as the survey page's script does;
- staff (10: the lead, the admin and eight teachers): sign in, then load in turn, with
  2-5 s between pages, the dashboard, a group heatmap (change since the first round), a
  pupil's profile, and the cohort change page for the before and during rounds, until
  the pupils are done;
- exports (2, 20 s in): the lead downloads the cohort tables as XLSX
  (`GET /staff/cohort/download/xlsx?...`); the admin starts the ZIP of everything in the
  background (`POST /staff/cohort/exports` with CSRF), polls
  `/staff/cohort/exports/<token>.json` every second until it is done, and downloads it.

Printed: answers per second (steady window and whole run), p50/p95/p99 and errors per
kind of request (sign-in, page, autosave, finish, staff sign-in, staff page, export,
export status), and acknowledged answers against rows stored for the load's rounds
(must be equal, nothing lost, newest value kept: PASS/FAIL).

--soak SECONDS keeps the same load going for that long: each pupil, after finishing,
signs in again with their code for the next wave's round (a fresh browser session) and
answers again at the same pace; staff keep loading pages; the two exports run again
every 120 s. Every 30 s it samples each gunicorn worker's resident memory (/proc), and the
export's Chromium (Kaleido) separately, and prints the series, the answers per second in
each interval, the growth first to last per worker, and the growth after the warm-up (from
90 s: every page and the first exports have been served, so imports and caches are in):
PASS when every worker grew less than 20 MB after the warm-up. For the soak, gunicorn's
max_requests recycling is turned off (GUNICORN_MAX_REQUESTS=0), so that a leak cannot
hide behind a worker restart.

Also printed: the CPU each part used (gunicorn's workers, the export's Chromium,
PostgreSQL, the simulated users, everything else), since the machine may be shared.

Exit code 0 whatever the figures (it is a benchmark); 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import autosave  # benchmarks/autosave.py: Database, Stats, Ledger, VirtualPupil...
from _harness import (
    KINDS,
    LoadServer,
    Meter,
    StaffPlan,
    Stored,
    World,
    _csrf,
    build_world,
    check_rows,
    clear_redis,
    cpu_by_part,
)
from autosave import (
    FORM_CSRF,
    BenchError,
    Database,
    VirtualPupil,
    _ms,
    _token,
    machine_busy_seconds,
    run_flask,
)

SAMPLE_EVERY_S = 30.0
RSS_GROWTH_LIMIT_MB = 20.0
WARM_UP_S = 90.0  # memory growth is judged from here: every page and the first exports served
EXPORT_EVERY_S = 120.0
STAFF_PAUSE = (2.0, 5.0)
THINK = (1.0, 2.5)  # seconds between a pupil's clicks, as benchmarks/autosave.py
RETRY_FIRST_S, RETRY_MAX_S, RETRY_GIVE_UP_S = 1.0, 15.0, 90.0  # as the page's script
TARGET_AUTOSAVE_P95_MS = 250.0  # mixed load, exports included (autosave.py alone: 100 ms)
TARGET_PAGE_P95_MS = 1000.0  # pupils' pages and staff pages


# ----- pupils ---------------------------------------------------------------------------


class LoadPupil(VirtualPupil):
    """A pupil's browser for one wave: every request timed under its kind."""

    async def sign_in_timed(self, m: Meter) -> bool:
        s, base = self.session, self.base
        got = await m.call(s, "sign-in", "GET", base + "/", 200)
        if not got or got[0] != 200:
            return False
        got = await m.call(s, "sign-in", "POST", base + "/", 302,
                           data={"code": self.code, "csrf_token": _token(FORM_CSRF, got[1])})
        if not got or got[0] != 302:
            return False
        got = await m.call(s, "sign-in", "GET", base + "/confirm", 200)
        if not got or got[0] != 200:
            return False
        got = await m.call(s, "sign-in", "POST", base + "/confirm", 302,
                           data={"yes": "Yes, this is me", "csrf_token": _token(FORM_CSRF, got[1])})
        if not got or got[0] != 302:
            return False
        got = await m.call(s, "page", "GET", base + "/survey", 302)
        if not got or got[0] != 302:
            return False
        got = await m.call(s, "page", "GET", base + got[1] if got[1].startswith("/") else got[1], 200)
        if not got or got[0] != 200:
            return False
        page = got[1]
        self.csrf = _token(autosave.META_CSRF, page)
        self.response_id = int(_token(autosave.DATA_RESPONSE, page))
        self.seq_base = int(_token(autosave.DATA_SEQ_BASE, page))
        self.loaded_at = time.monotonic()
        return True

    async def save_until_acknowledged(self, m: Meter, item: str, value: int, stop) -> bool:
        """Send one answer; on a failure send it again after 1, 2, 4... s (as the page)."""
        seq = self.next_seq()
        delay, give_up = RETRY_FIRST_S, time.monotonic() + RETRY_GIVE_UP_S
        while True:
            ok = await self.save(self.base + "/survey/api/answers", item, value, seq,
                                 m.kinds["autosave"], m.ledger)
            if ok:
                return True
            if time.monotonic() + delay > give_up or stop():
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def finish_timed(self, m: Meter) -> bool:
        s, base = self.session, self.base
        got = await m.call(s, "page", "GET", base + "/survey/check", 200)
        if not got or got[0] != 200:
            return False
        token = _csrf(got[1])
        delay = RETRY_FIRST_S
        for _ in range(5):
            done = await m.call(s, "finish", "POST", base + "/survey/finish", 302,
                                data={"csrf_token": token})
            if done and done[0] == 302:
                await m.call(s, "page", "GET", base + "/thanks", 200)
                return True
            if done and done[0] in (400, 409):
                return False
            await asyncio.sleep(delay)
            delay *= 2
        return False


async def pupil_slot(slot: int, world: World, base: str, m: Meter, stagger: float, answers: int,
                     stop, seed: int) -> None:
    """One computer: a pupil answers the whole survey, then (soak) again in the next wave."""
    rng = random.Random(seed * 7919 + slot)
    await asyncio.sleep(rng.uniform(0, stagger))
    items = _items()[:answers]
    for wave, codes in enumerate(world.codes):
        if stop() or (wave > 0 and stop(new_wave=True)):
            return
        p = LoadPupil(slot, codes[slot], base, 30.0)
        try:
            if not await p.sign_in_timed(m):
                m.gave_up["could not sign in"] += 1
                m.unfinished += 1
                continue
            click = time.monotonic()
            complete = True
            for item in items:
                click += rng.uniform(*THINK)
                await asyncio.sleep(max(0.0, click - time.monotonic()))
                if stop():
                    complete = False
                    break
                if not await p.save_until_acknowledged(m, item, rng.randint(1, 4), stop):
                    complete = False
                    if not stop():
                        m.gave_up["an answer never saved"] += 1
                    break
            if complete and await p.finish_timed(m):
                m.finished += 1
                m.finished_at.append(asyncio.get_running_loop().time())
            else:
                m.unfinished += 1
                if complete:
                    m.gave_up["could not finish"] += 1
        finally:
            await p.close()


_ITEMS: list[str] = []


def _items() -> list[str]:
    if not _ITEMS:
        from survey_app.questionnaires import load_questionnaire

        _ITEMS.extend(s.id for s in load_questionnaire(autosave.QUESTIONNAIRE).statements)
    return _ITEMS


# ----- staff and exports ------------------------------------------------------------------


def _staff_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(limit=2, keepalive_timeout=autosave.CLIENT_KEEPALIVE_S),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def staff_sign_in(s: aiohttp.ClientSession, base: str, plan: StaffPlan, m: Meter) -> bool:
    got = await m.call(s, "staff sign-in", "GET", base + "/staff/sign-in", 200)
    if not got or got[0] != 200:
        return False
    got = await m.call(s, "staff sign-in", "POST", base + "/staff/sign-in", 302, data={
        "email": plan.email, "password": plan.password, "next": "", "csrf_token": _csrf(got[1])})
    return bool(got and got[0] == 302)


async def staff_member(i: int, plan: StaffPlan, base: str, m: Meter, stop, seed: int) -> None:
    rng = random.Random(seed * 104729 + i)
    await asyncio.sleep(rng.uniform(0, 5))
    async with _staff_session() as s:
        if not await staff_sign_in(s, base, plan, m):
            return
        turn = 0
        while not stop():
            name, path = plan.pages[turn % len(plan.pages)]
            await m.call(s, "staff page", "GET", base + path, 200, page=name)
            turn += 1
            await asyncio.sleep(rng.uniform(*STAFF_PAUSE))


async def export_xlsx(plan: StaffPlan, base: str, query: str, m: Meter) -> None:
    async with _staff_session() as s:
        if not await staff_sign_in(s, base, plan, m):
            m.exports.append("xlsx: staff sign-in failed")
            return
        got = await m.call(s, "export", "GET", f"{base}/staff/cohort/download/xlsx?{query}", 200)
        m.exports.append(f"xlsx: HTTP {got[0]}, {len(got[1]) // 1024} KiB, {got[2]:.1f} s" if got
                         else "xlsx: no answer")


async def export_zip(plan: StaffPlan, base: str, query: str, m: Meter, stop) -> None:
    loop = asyncio.get_running_loop()
    async with _staff_session() as s:
        if not await staff_sign_in(s, base, plan, m):
            m.exports.append("zip: staff sign-in failed")
            return
        page = await m.call(s, "staff page", "GET", f"{base}/staff/cohort/?{query}", 200, page="cohort change")
        if not page or page[0] != 200:
            m.exports.append("zip: cohort page failed")
            return
        t0 = loop.time()
        got = await m.call(s, "export", "POST", base + "/staff/cohort/exports", 302,
                           data={"csrf_token": _csrf(page[1]), "selection": query, "format": "zip"})
        if not got or got[0] != 302:
            m.exports.append(f"zip: start refused ({got[0] if got else 'no answer'})")
            return
        token = got[1].rstrip("/").rsplit("/", 1)[-1]
        status = {}
        while loop.time() - t0 < 600:
            await asyncio.sleep(1.0)
            polled = await m.call(s, "export status", "GET", f"{base}/staff/cohort/exports/{token}.json", 200)
            if polled and polled[0] == 200:
                status = json.loads(polled[1])
                if status.get("status") in ("done", "failed"):
                    break
        if status.get("status") != "done":
            m.exports.append(f"zip: {status.get('status', 'unknown')} ({status.get('message', '')})")
            return
        # The export's end-to-end time (start, work in the background, download) as one figure.
        async with s.get(base + status["download"]) as got:
            data = await got.read()
        m.kinds["export"].record(t0, loop.time(), got.status)
        m.exports.append(f"zip: done in {loop.time() - t0:.1f} s, {len(data) // 1024} KiB, HTTP {got.status}")


async def exports_loop(world: World, base: str, m: Meter, stop, first_after: float, repeat: bool) -> None:
    lead, admin = world.exporters
    await asyncio.sleep(first_after)
    while True:
        started = time.monotonic()
        await asyncio.gather(export_xlsx(lead, base, world.cohort_query, m),
                             export_zip(admin, base, world.cohort_query, m, stop))
        if not repeat:
            return
        await asyncio.sleep(max(0.0, EXPORT_EVERY_S - (time.monotonic() - started)))
        if stop():
            return


# ----- memory samples ----------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    workers: dict[int, int]
    helpers: int
    answers: int


async def sampler(server: LoadServer, m: Meter, samples: list[Sample], t0: float, stop) -> None:
    while not stop():
        await asyncio.sleep(SAMPLE_EVERY_S)
        workers = await asyncio.to_thread(server.workers)
        helpers = await asyncio.to_thread(server.helpers_rss, set(workers))
        samples.append(Sample(time.monotonic() - t0, workers, helpers, m.kinds["autosave"].ok))
        mb = " ".join(f"{rss / 2**20:.0f}" for _, rss in sorted(workers.items()))
        print(f"  [{samples[-1].at:5.0f}s] worker RSS MB: {mb}; export helpers {helpers / 2**20:.0f} MB; "
              f"answers acknowledged {samples[-1].answers}", flush=True)


# ----- the run ----------------------------------------------------------------------------------


@dataclass
class Options:
    pupils: int
    staff: int
    workers: int
    answers: int | None
    stagger: float
    soak: float | None
    export_after: float
    exports: bool
    seed: int = 1
    notes: list[str] = field(default_factory=list)


async def run_load(server: LoadServer, world: World, o: Options, m: Meter,
                   samples: list[Sample]) -> tuple[float, float]:
    t0 = time.monotonic()
    deadline = t0 + o.soak if o.soak else None
    # A run without --soak ends when the pupils are done; a pupil far behind is stopped
    # after this long so that the run always ends.
    hard_stop = t0 + (o.soak + 150 if o.soak else 300)
    pupils_done = asyncio.Event()

    def stop(new_wave: bool = False) -> bool:
        now = time.monotonic()
        if now > hard_stop:
            return True
        if new_wave:
            return deadline is None or now > deadline
        return deadline is not None and now > deadline

    def staff_stop() -> bool:
        return pupils_done.is_set() or time.monotonic() > hard_stop

    answers = o.answers or world.answers_per_pupil
    pupils = [asyncio.create_task(pupil_slot(i, world, server.base, m, o.stagger, answers, stop, o.seed))
              for i in range(o.pupils)]
    staff = [asyncio.create_task(staff_member(i, plan, server.base, m, staff_stop, o.seed))
             for i, plan in enumerate(world.staff)]
    exports = asyncio.create_task(exports_loop(world, server.base, m, staff_stop, o.export_after,
                                               repeat=bool(o.soak))) if o.exports else None
    sampling = asyncio.create_task(sampler(server, m, samples, t0, staff_stop)) if o.soak else None
    await asyncio.wait(pupils, timeout=max(1.0, hard_stop - time.monotonic()) + 40)
    pupils_done.set()
    ended = time.monotonic()
    for task in pupils:
        task.cancel()
    await asyncio.gather(*staff, return_exceptions=True)
    if exports is not None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(exports, timeout=300)  # a ZIP still being made is waited for
    if sampling:
        sampling.cancel()
        workers = await asyncio.to_thread(server.workers)
        helpers = await asyncio.to_thread(server.helpers_rss, set(workers))
        samples.append(Sample(time.monotonic() - t0, workers, helpers, m.kinds["autosave"].ok))
    return t0, ended


def steady_rate(m: Meter, stagger: float, soak_end: float | None) -> float:
    """Answers per second while every pupil was answering: from the end of the arrivals
    (plus the first think time) to the first thank-you (a soak: to the end of the soak)."""
    done = sorted(m.kinds["autosave"].done_at)
    if len(done) < 10:
        return 0.0
    lo = done[0] + stagger + max(THINK)
    hi = soak_end if soak_end is not None else min(m.finished_at, default=done[-1])
    if hi - lo < 5:
        return len(done) / max(done[-1] - done[0], 1e-9)
    return sum(1 for t in done if lo <= t <= hi) / (hi - lo)


def report(o: Options, m: Meter, stored: Stored, t0: float, ended: float, samples: list[Sample],
           server_errors: list[str], setup_s: float, cores: dict[str, float]) -> None:
    a = m.kinds["autosave"]
    wall = ended - t0
    # Meter times are the event loop's clock; t0 and ended are time.monotonic() (the same
    # clock on Linux, where asyncio's loop.time() is time.monotonic()).
    soak_end = t0 + o.soak if o.soak else None
    print()
    title = f"=== Load: {o.pupils} pupils, {o.staff} staff, {2 if o.exports else 0} exports; " \
            f"gunicorn {o.workers} gthread workers x 8 threads on PostgreSQL; rate limits in Redis"
    print(title + (f"; soak {o.soak:.0f} s" if o.soak else "") + " ===")
    stopped = m.unfinished - sum(m.gave_up.values())
    print(f"set-up {setup_s:.0f} s; load ran {wall:.0f} s; pupils finished {m.finished}, "
          f"could not finish {sum(m.gave_up.values())}" + (f" ({dict(m.gave_up)})" if m.gave_up else "")
          + (f", still answering when the {'soak' if o.soak else 'run'} ended {stopped}" if stopped else ""))
    print(f"answers acknowledged: {a.ok}; answers per second: whole run {a.ok / wall:.1f}, "
          f"steady (all pupils answering) {steady_rate(m, o.stagger, soak_end):.1f}")
    print()
    print(f"{'kind of request':<18}{'requests':>9}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"
          f"{'max ms':>10}")
    for kind in KINDS:
        s = m.kinds[kind]
        print(f"{kind:<18}{s.requests:>9}{s.errors:>8}{_ms(s.percentile(50)):>10}"
              f"{_ms(s.percentile(95)):>10}{_ms(s.percentile(99)):>10}{_ms(s.percentile(100)):>10}")
    for name, s in sorted(m.staff_pages.items()):
        print(f"  {name:<16}{s.requests:>9}{s.errors:>8}{_ms(s.percentile(50)):>10}"
              f"{_ms(s.percentile(95)):>10}{_ms(s.percentile(99)):>10}{_ms(s.percentile(100)):>10}")
    errors = {k: m.kinds[k].error_text() for k in KINDS if m.kinds[k].errors}
    print(f"errors: {errors if errors else 'none'}")
    print(f"exports: {'; '.join(m.exports) if m.exports else 'none ran'}")
    print(f"database: acknowledged distinct (response, statement) {stored.acked}, rows stored for the "
          f"load's rounds {stored.rows}, lost {stored.lost}, stale {stored.stale}"
          + (f", stored but never acknowledged (in flight at the stop) {stored.unacked_rows}"
             if stored.unacked_rows else "")
          + f"; responses finished {stored.finished} (pupils told 'thank you' {m.finished}), "
          f"with factor scores {stored.scored}")
    print(f"CPU, cores used on average (of {os.cpu_count()}): app {cores['app']:.2f}, export Chromium "
          f"{cores['helpers']:.2f}, PostgreSQL {cores['db']:.2f} (every postgres process on the machine), "
          f"simulated users {cores['client']:.2f}, everything else {cores['other']:.2f}")
    if cores["other"] > 0.25:
        print(f"WARNING: other processes used {cores['other']:.2f} of the {os.cpu_count()} cores on average "
              "during the run: figures are lower than on a quiet machine.")
    if server_errors:
        print(f"gunicorn log: {len(server_errors)} error line(s), first ones:")
        for line in server_errors[:5]:
            print(f"    {line[:160]}")
    for note in o.notes:
        print(f"note: {note}")
    targets = []
    exact = stored.acked == stored.rows - stored.unacked_rows and stored.lost == 0 and stored.stale == 0
    targets.append((f"acknowledged answers = rows stored, none lost or stale: {stored.acked} acknowledged, "
                    f"{stored.rows - stored.unacked_rows} stored ({stored.lost} lost, {stored.stale} stale)", exact))
    targets.append((f"finished responses = pupils thanked, each scored: {stored.finished} / {m.finished} / "
                    f"{stored.scored}", stored.finished == m.finished == stored.scored))
    failed_finish = sum(m.gave_up.values())
    targets.append((f"every pupil who started finished (soak: stopped at the end excluded): "
                    f"{failed_finish} could not", failed_finish == 0))
    total_errors = sum(m.kinds[k].errors for k in KINDS)
    targets.append((f"0 request errors: {total_errors}", total_errors == 0))
    p95 = a.percentile(95)
    targets.append((f"autosave p95 < {TARGET_AUTOSAVE_P95_MS:.0f} ms: {_ms(p95)} ms",
                    p95 is not None and p95 < TARGET_AUTOSAVE_P95_MS))
    for kind in ("page", "staff page"):
        if not m.kinds[kind].requests:
            continue
        p = m.kinds[kind].percentile(95)
        targets.append((f"{kind} p95 < {TARGET_PAGE_P95_MS:.0f} ms: {_ms(p)} ms",
                        p is not None and p < TARGET_PAGE_P95_MS))
    exports_ok = sum(1 for e in m.exports if (e.startswith("xlsx: HTTP 200") or e.startswith("zip: done")))
    if o.exports:
        targets.append((f"exports done: {exports_ok} of {len(m.exports)}",
                        bool(m.exports) and exports_ok == len(m.exports)))
    if o.soak and samples:
        targets.append(soak_report(samples, o.soak))
    print("targets:")
    for label, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")


def soak_report(samples: list[Sample], soak_s: float) -> tuple[str, bool]:
    """Print the memory series; judge growth per worker after the warm-up."""
    print()
    print(f"soak: resident memory per worker (MB), every {SAMPLE_EVERY_S:.0f} s")
    pids = sorted({pid for s in samples for pid in s.workers})
    print(f"{'at s':>7}{'answers/s':>11}" + "".join(f"{'w' + str(pid):>10}" for pid in pids)
          + f"{'Chromium':>10}")
    last_answers, last_at = 0, 0.0
    for s in samples:
        rate = (s.answers - last_answers) / max(s.at - last_at, 1e-9)
        last_answers, last_at = s.answers, s.at
        cells = "".join(f"{s.workers[pid] / 2**20:>10.1f}" if pid in s.workers else f"{'-':>10}" for pid in pids)
        print(f"{s.at:>7.0f}{rate:>11.1f}{cells}{s.helpers / 2**20:>10.1f}")
    replaced = [pid for pid in pids if not all(pid in s.workers for s in samples)]
    warm = [s for s in samples if s.at >= WARM_UP_S] or samples[-1:]

    def growth(series: list[Sample]) -> dict[int, float]:
        out = {}
        for pid in pids:
            seen = [s.workers[pid] for s in series if pid in s.workers]
            out[pid] = (seen[-1] - seen[0]) / 2**20 if seen else 0.0
        return out

    total, after = growth(samples), growth(warm)
    minutes = max((warm[-1].at - warm[0].at) / 60, 1e-9)
    print("growth first to last (MB): " + ", ".join(f"w{pid} {g:+.1f}" for pid, g in total.items()))
    print(f"growth after the warm-up, {warm[0].at:.0f} s to {warm[-1].at:.0f} s (MB): "
          + ", ".join(f"w{pid} {g:+.1f} ({g / minutes:+.2f}/min)" for pid, g in after.items())
          + (f"; workers replaced during the soak: {replaced}" if replaced else ""))
    worst = max(after.values()) if after else 0.0
    short = soak_s < 300
    return (f"soak: every worker's memory grew < {RSS_GROWTH_LIMIT_MB:.0f} MB after the warm-up (first "
            f"{WARM_UP_S:.0f} s: imports, caches, the first exports) (largest {worst:+.1f} MB"
            + (", a worker was replaced" if replaced else "")
            + ("; a soak under 5 minutes only hints: run --soak 900" if short else "") + ")",
            worst < RSS_GROWTH_LIMIT_MB and not replaced)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=None, help="simulated pupils (default 300, at most 300)")
    parser.add_argument("--staff", type=int, default=10, help="staff loading pages (default 10)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--soak", type=float, default=None, metavar="SECONDS",
                        help="keep the load going this long, sampling worker memory every 30 s")
    parser.add_argument("--no-exports", action="store_true",
                        help="leave out the two exports (with --staff 0: the pupils alone, to compare)")
    parser.add_argument("--quick", action="store_true", help="30 pupils answering 10 statements")
    args = parser.parse_args(argv)
    if not 1 <= (args.pupils or 1) <= 300 or not 0 <= args.staff <= 12:
        parser.error("--pupils must be 1 to 300 and --staff 0 to 12 (the demo's people)")
    o = Options(pupils=args.pupils or (30 if args.quick else 300), staff=args.staff, workers=args.workers,
                answers=10 if args.quick else None, stagger=2.0 if args.quick else 10.0, soak=args.soak,
                export_after=5.0 if args.quick else 20.0, exports=not args.no_exports)
    waves = 1 if not o.soak else int(o.soak // 45) + 2
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {message}", flush=True)

    before = machine_busy_seconds()
    time.sleep(1.0)
    busy = machine_busy_seconds() - before
    progress(f"machine before start: {busy:.2f} of {os.cpu_count()} cores busy with other work")
    progress("preparing a fresh PostgreSQL schema")
    try:
        database = Database("postgresql")
    except BenchError as exc:
        print(f"!!! could not run: {exc}")
        return 2
    server = None
    try:
        env = dict(os.environ, DATABASE_URL=database.url, SECRET_KEY=secrets.token_hex(16))
        run_flask(["db", "upgrade"], env)
        progress(f"demo partnership and {waves} open round(s) with codes for {o.pupils} pupils")
        world = build_world(database.url, o.pupils, o.staff, waves)
        clear_redis()
        max_requests = 0 if o.soak else None
        if o.soak:
            o.notes.append("soak: gunicorn max_requests recycling off (GUNICORN_MAX_REQUESTS=0)")
        server = LoadServer(database.url, o.workers, database.tmpdir, max_requests)
        server.wait_ready(timeout=60)
        setup_s = time.monotonic() - started
        progress(f"gunicorn ready ({o.workers} workers, pids {sorted(server.workers())}); "
                 f"{o.pupils} pupils, {len(world.staff)} staff, {2 if o.exports else 0} exports"
                 + (f"; soak for {o.soak:.0f} s" if o.soak else ""))
        m = Meter()
        samples: list[Sample] = []
        cpu_before, wall_before = cpu_by_part(server.proc.pid), time.monotonic()
        client_before = time.process_time()
        t0, ended = asyncio.run(run_load(server, world, o, m, samples))
        wall = time.monotonic() - wall_before
        cpu_after = cpu_by_part(server.proc.pid)
        cores = {k: (cpu_after[k] - cpu_before[k]) / wall for k in cpu_after}
        cores["client"] = (time.process_time() - client_before) / wall
        cores["other"] = max(0.0, cores.pop("machine") - sum(cores.values()))
        progress("load done; checking the database")
        stored = check_rows(database.url, m.ledger, world.load_round_ids)
        server_errors = [
            line for line in server.log_tail(100000).splitlines()
            if any(w in line for w in ("Error", "ERROR", "Traceback", "CRITICAL", "WORKER TIMEOUT"))
        ]
        report(o, m, stored, t0, ended, samples, server_errors, setup_s, cores)
        if server_errors:
            kept = Path(tempfile.gettempdir()) / f"survey-load-gunicorn-{int(time.time())}.log"
            shutil.copyfile(server.log_path, kept)
            print(f"gunicorn log kept at {kept}")
        print(f"Wall time {time.monotonic() - started:.0f} s.")
        return 0
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"!!! could not run: {exc}")
        if server is not None:
            print(server.log_tail())
        return 2
    finally:
        if server is not None:
            server.stop()
        database.close()
        clear_redis()


if __name__ == "__main__":
    sys.exit(main())
