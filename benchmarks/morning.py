#!/usr/bin/env python
"""A trust's morning through the load balancer: `bash scripts/stack.sh up` first.

    BENCHMARK_ENDPOINTS=1 CODE_ATTEMPT_LIMIT="100000 per minute" bash scripts/stack.sh up
    .venv/bin/python benchmarks/morning.py                       # 3,000 pupils over 300 s
    .venv/bin/python benchmarks/morning.py --pupils 600 --arrive 60   # shorter

What it does, against the running stack (HAProxy on 127.0.0.1:8100, the primary on 5442):

1. Set-up on the primary: a trust (an authority) of 250-pupil schools, one open round
   with a code for every pupil, an admin for the staff load. Names carry a run tag, so
   runs do not collide.
2. The morning: pupils arrive evenly over --arrive seconds, sign in with their code,
   answer every statement at a reading pace (a click every 1.0-2.5 s, each answer saved
   at once and sent again after 1, 2, 4 s... when a save fails, as the page does), finish
   and see the thank-you page: the client code of benchmarks/load.py (LoadPupil) and
   benchmarks/autosave.py (VirtualPupil, Stats, Ledger), imported. Two staff members load
   the home page and the authority view (read from the replica) every few seconds, and
   the authority export (XLSX) every 30 s.
3. Halfway through the arrivals, app node 1 is killed (SIGKILL, `stack.sh kill-node 1`)
   and started again --down-for seconds later: the pupils on it carry on through node 2
   (sessions are in Redis), and HAProxy puts node 1 back when /healthz passes.
4. Then, on the same stack: the saturated autosave rate (--sat-clients clients saving
   back to back for --sat-seconds) against the bare endpoint (POST /_bench/bare, the same
   servers doing no work) the same way, and their ratio.

Printed: answers per second (steady window and whole run), p95 autosave, errors by kind,
acknowledged answers against rows stored (nothing lost, newest kept), pupils finished,
the kill and restart, the saturated ratio, and the CPU each part used per answer (app
nodes, PgBouncer, PostgreSQL primary and replica, HAProxy, Redis, this client), with the
targets as PASS/FAIL lines. Exit code 0 whatever the figures; 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autosave  # noqa: E402  (benchmarks/autosave.py)
import load  # noqa: E402  (benchmarks/load.py)
import sqlalchemy as sa  # noqa: E402
from _harness import Meter, StaffPlan, check_rows  # noqa: E402
from autosave import BenchError, Stats, VirtualPupil, _ms  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STACK_DIR = Path(os.environ.get("STACK_DIR", "/tmp/survey-stack"))  # noqa: S108 - scripts/stack.sh's default
BASE = os.environ.get("MORNING_URL", "http://127.0.0.1:8100")
PRIMARY_URL = os.environ.get("MORNING_PRIMARY_URL", "postgresql+psycopg://postgres@127.0.0.1:5442/survey")
TARGET_RATE = 500.0
TARGET_P95_MS = 100.0
TARGET_RATIO = 0.7
PER_SCHOOL = 250


@dataclass
class Setup:
    codes: list[str]
    round_id: int
    admin: StaffPlan
    sat_codes: list[str]  # codes of a second round, for the saturated phase


def build(pupils: int, tag: str, sat_clients: int) -> Setup:
    """Schools of a trust with pupils and codes for one open round, and an admin."""
    from werkzeug.security import generate_password_hash

    from survey_app import create_app
    from survey_app.authority.operations import create_authority
    from survey_app.db import db
    from survey_app.models import AccessCode, Group, Partnership, Pupil, School, StaffUser, SurveyRound
    from survey_app.models.base import utcnow
    from survey_app.models.upn import make_upn
    from survey_app.pupil.codes import issue_codes
    from survey_app.questionnaires.store import store_file

    app = create_app({"SQLALCHEMY_DATABASE_URI": PRIMARY_URL, "SECRET_KEY": secrets.token_hex(16)})
    with app.app_context():
        try:
            version = store_file(db.session, autosave.QUESTIONNAIRE)
            trust = Partnership(name=f"Morning trust {tag}")
            db.session.add(trust)
            schools, all_pupils = [], []
            for s in range(-(-pupils // PER_SCHOOL)):
                school = School(urn=f"7{tag[:2]}{s:03d}", name=f"Morning school {s + 1} ({tag})", partnership=trust)
                schools.append(school)
                for i in range(min(PER_SCHOOL, pupils - s * PER_SCHOOL)):
                    all_pupils.append(Pupil(school=school, upn=make_upn(882, 4200 + s, 14, i + 1),
                                            first_name=f"M{len(all_pupils) + 1}", surname="Morning",
                                            year_group=7 + i % 5))
            db.session.add_all(schools + all_pupils)
            db.session.flush()
            group = Group(name=f"Morning {tag}", partnership_id=trust.id, pupils=all_pupils)
            db.session.add(group)
            now = utcnow()
            survey_round = SurveyRound(name=f"Morning {tag}", phase="before", questionnaire_version_id=version.id,
                                       opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1),
                                       mode="page", partnership_id=trust.id, groups=[group])
            db.session.add(survey_round)
            db.session.flush()
            issue_codes(db.session, survey_round, [p.id for p in all_pupils])
            sat_round = SurveyRound(name=f"Saturated {tag}", phase="during", questionnaire_version_id=version.id,
                                    opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1),
                                    mode="page", partnership_id=trust.id, groups=[group])
            db.session.add(sat_round)
            db.session.flush()
            issue_codes(db.session, sat_round, [p.id for p in all_pupils[:sat_clients]])
            create_authority(db.session, f"Morning authority {tag}", [s.urn for s in schools])
            password = secrets.token_urlsafe(16)
            admin = StaffUser(email=f"morning-{tag}@example.org", name="Morning admin", role="admin",
                              password_hash=generate_password_hash(password))
            db.session.add(admin)
            db.session.commit()
            by_pupil = dict(db.session.execute(sa.select(AccessCode.pupil_id, AccessCode.code)
                                               .where(AccessCode.round_id == survey_round.id)).all())
            codes = [by_pupil[p.id] for p in all_pupils]
            sat = list(db.session.scalars(sa.select(AccessCode.code).where(AccessCode.round_id == sat_round.id)))
            pages = [("home", "/staff/"), ("authority view", "/staff/authority/")]
            return Setup(codes, survey_round.id, StaffPlan(admin.email, password, "admin", pages), sat)
        finally:
            db.session.remove()
            db.engine.dispose()


# ----- CPU by part: process trees of the stack's pids ------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _procs() -> dict[int, tuple[int, float]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICK)
    return out


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stack_roots() -> dict[str, list[int]]:
    """The root pid of each part of the stack (its children count with it)."""
    roots = {
        "app nodes": [p for p in (_pid(f) for f in sorted(STACK_DIR.glob("node*.pid"))) if p],
        "PgBouncer": [p for p in [_pid(STACK_DIR / "pgbouncer.pid")] if p],
        "PostgreSQL primary": [p for p in [_pid(STACK_DIR / "pg-primary" / "postmaster.pid")] if p],
        "PostgreSQL replica": [p for p in [_pid(STACK_DIR / "pg-replica" / "postmaster.pid")] if p],
        "HAProxy": [p for p in [_pid(STACK_DIR / "haproxy.pid")] if p],
        "Redis": [p for p in [_pid(STACK_DIR / "redis.pid")] if p],
    }
    return roots


def cpu_by_part(roots: dict[str, list[int]], dead: dict[str, float]) -> dict[str, float]:
    """CPU seconds so far per part (a process counts with its root ancestor), plus this client
    and the whole machine; `dead` adds what killed processes had used."""
    procs = _procs()
    owner = {pid: part for part, pids in roots.items() for pid in pids}
    out = {part: dead.get(part, 0.0) for part in roots}
    for pid, (_ppid, seconds) in procs.items():
        ancestor, hops = pid, 0
        while ancestor not in owner and ancestor in procs and hops < 40:
            ancestor, hops = procs[ancestor][0], hops + 1
        if ancestor in owner:
            out[owner[ancestor]] += seconds
    out["client (this benchmark)"] = time.process_time()
    out["machine (all)"] = autosave.machine_busy_seconds()
    return out


# ----- the morning -------------------------------------------------------------------------


async def morning_pupil(slot: int, code: str, m: Meter, arrive: float, stop, seed: int) -> None:
    """One pupil: sign in (again if a node dies under the sign-in), answer every statement, finish."""
    rng = random.Random(seed * 7919 + slot)
    await asyncio.sleep(slot * arrive / max(1, m.pupils) + rng.uniform(0, arrive / max(1, m.pupils)))
    items = load._items()
    for _attempt in range(3):
        p = load.LoadPupil(slot, code, BASE, 30.0)
        try:
            if not await p.sign_in_timed(m):
                await asyncio.sleep(1.0)
                continue
            click = time.monotonic()
            for item in items:
                click += rng.uniform(*load.THINK)
                await asyncio.sleep(max(0.0, click - time.monotonic()))
                if not await p.save_until_acknowledged(m, item, rng.randint(1, 4), stop):
                    m.gave_up["an answer never saved"] += 1
                    m.unfinished += 1
                    return
            if await p.finish_timed(m):
                m.finished += 1
            else:
                m.gave_up["could not finish"] += 1
                m.unfinished += 1
            return
        finally:
            await p.close()
    m.gave_up["could not sign in"] += 1
    m.unfinished += 1


async def staff_exports(plan: StaffPlan, m: Meter, stop) -> None:
    async with load._staff_session() as s:
        if not await load.staff_sign_in(s, BASE, plan, m):
            m.exports.append("xlsx: staff sign-in failed")
            return
        while not stop():
            got = await m.call(s, "export", "GET", BASE + "/staff/authority/export.xlsx", 200)
            m.exports.append(f"HTTP {got[0]} {got[2]:.2f} s" if got else "no answer")
            for _ in range(30):
                if stop():
                    return
                await asyncio.sleep(1)


def stack(*args: str) -> str:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), *args], capture_output=True, text=True,
                          timeout=120)
    return (done.stdout + done.stderr).strip().splitlines()[-1] if (done.stdout + done.stderr).strip() else ""


async def node_chaos(kill_at: float, down_for: float, roots, dead, events: list[str], t0: float) -> None:
    await asyncio.sleep(kill_at)
    before = cpu_by_part(roots, {})
    events.append(f"{time.monotonic() - t0:6.1f} s  {await asyncio.to_thread(stack, 'kill-node', '1')}")
    # What the killed node had used stays counted; its new pid joins the roots after the restart.
    dead["app nodes"] = dead.get("app nodes", 0.0) + before["app nodes"] - cpu_by_part(roots, {})["app nodes"]
    await asyncio.sleep(down_for)
    events.append(f"{time.monotonic() - t0:6.1f} s  {await asyncio.to_thread(stack, 'start-node', '1')}")
    roots["app nodes"] = [p for p in (_pid(f) for f in sorted(STACK_DIR.glob("node*.pid"))) if p]


async def run_morning(setup: Setup, o, roots) -> tuple[Meter, dict, dict, list[str], float, float]:
    m = Meter()
    m.pupils = len(setup.codes)
    done = {"flag": False}

    def stop(new_wave: bool = False) -> bool:
        return done["flag"]

    dead: dict[str, float] = {}
    events: list[str] = []
    cpu0 = cpu_by_part(roots, {})
    t0 = time.monotonic()
    pupils = [asyncio.create_task(morning_pupil(i, c, m, o.arrive, stop, o.seed)) for i, c in enumerate(setup.codes)]
    staff = [asyncio.create_task(load.staff_member(i, setup.admin, BASE, m, stop, o.seed)) for i in range(2)]
    staff.append(asyncio.create_task(staff_exports(setup.admin, m, stop)))
    chaos = asyncio.create_task(node_chaos(o.arrive / 2, o.down_for, roots, dead, events, t0))
    await asyncio.wait(pupils, timeout=o.arrive + 600)
    done["flag"] = True
    await asyncio.wait(staff + [chaos], timeout=60)
    wall = time.monotonic() - t0
    cpu1 = cpu_by_part(roots, dead)
    return m, cpu0, cpu1, events, wall, t0


async def saturated(codes: list[str], clients: int, seconds: float) -> tuple[float, float, str]:
    """Autosave saturated vs the bare endpoint, both through HAProxy: (autosave/s, bare/s, errors)."""
    items = load._items()
    pupils = [VirtualPupil(i, c, BASE, 30.0) for i, c in enumerate(codes[:clients])]
    try:
        await asyncio.gather(*(p.sign_in() for p in pupils))
        plan = autosave.Plan(clients, 0, "gthread", 0, 0.0, 0, 0.0, (0.0, 0.0), 0.0, clients, seconds, 30.0, "", 0.0)
        auto, bare = Stats(), Stats()
        await autosave.saturate(pupils, BASE + "/survey/api/answers", items, plan, auto, None, 1)
        await autosave.saturate(pupils, BASE + "/_bench/bare", items, plan, bare, None, 2)
        return auto.overall_rate(), bare.overall_rate(), f"autosave {auto.error_text()}; bare {bare.error_text()}"
    finally:
        await asyncio.gather(*(p.close() for p in pupils))


def report(o, setup: Setup, m: Meter, cpu0, cpu1, events, wall, sat) -> None:
    auto = m.kinds["autosave"]
    answers = auto.ok
    first = min(auto.done_at) if auto.done_at else 0.0
    # Steady: from when the first tenth had arrived to when the first tenth had finished.
    times = sorted(auto.done_at)
    lo, hi = (times[len(times) // 10], times[-len(times) // 10]) if len(times) > 20 else (first, first)
    steady = sum(1 for t in times if lo <= t <= hi) / (hi - lo) if hi > lo else 0.0
    whole = answers / (times[-1] - first) if len(times) > 1 else 0.0
    stored = check_rows(PRIMARY_URL, m.ledger, [setup.round_id])
    p95 = auto.percentile(95)
    print(f"Morning: {len(setup.codes)} pupils arriving over {o.arrive:.0f} s through HAProxy ({BASE}); "
          f"wall {wall:.0f} s")
    print(f"  answers acknowledged: {answers}; steady {steady:.0f}/s, whole run {whole:.0f}/s")
    for kind in ("sign-in", "page", "autosave", "finish", "staff sign-in", "staff page", "export"):
        s = m.kinds[kind]
        print(f"  {kind:14s} n={s.requests:6d} p50 {_ms(s.percentile(50))} p95 {_ms(s.percentile(95))} "
              f"p99 {_ms(s.percentile(99))}  errors: {s.error_text()}")
    print(f"  pupils finished: {m.finished}, not finished: {m.unfinished} {dict(m.gave_up) or ''}")
    print(f"  stored: {stored.rows} rows for {stored.acked} acknowledged answers; lost {stored.lost}, "
          f"stale {stored.stale}; responses finished {stored.finished}, scored {stored.scored}")
    print(f"  exports (authority XLSX): {len(m.exports)}: {', '.join(m.exports[:6])}")
    for e in events:
        print(f"  node: {e}")
    auto_rate, bare_rate, sat_errors = sat
    ratio = auto_rate / bare_rate if bare_rate else 0.0
    print(f"Saturated ({o.sat_clients} clients, {o.sat_seconds:.0f} s each, same stack): autosave {auto_rate:.0f}/s, "
          f"bare {bare_rate:.0f}/s, ratio {ratio:.2f} ({sat_errors})")
    print(f"CPU during the morning ({wall:.0f} s), per acknowledged answer:")
    for part in list(cpu1):
        used = cpu1[part] - cpu0.get(part, 0.0)
        per = used / answers * 1000 if answers else 0.0
        print(f"  {part:26s} {used:8.1f} s  {used / wall:5.2f} cores  {per:6.2f} ms/answer")
    errors = sum(m.kinds[k].errors for k in m.kinds)
    lines = [
        (f"sustained answers/s >= {TARGET_RATE:.0f} (steady {steady:.0f}/s)", steady >= TARGET_RATE),
        (f"p95 autosave < {TARGET_P95_MS:.0f} ms ({_ms(p95)})", p95 is not None and p95 < TARGET_P95_MS),
        (f"0 errors (requests that failed, retried or not: {errors})", errors == 0),
        (f"every acknowledged answer stored (lost {stored.lost}, stale {stored.stale})",
         stored.lost == 0 and stored.stale == 0 and answers > 0),
        (f"node killed and restarted, every pupil finished ({m.finished}/{len(setup.codes)})",
         len(events) == 2 and m.finished == len(setup.codes)),
        (f"saturated autosave / bare >= {TARGET_RATIO} ({ratio:.2f})", ratio >= TARGET_RATIO),
    ]
    for text, ok in lines:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pupils", type=int, default=3000)
    ap.add_argument("--arrive", type=float, default=300.0, help="seconds over which pupils sign in")
    ap.add_argument("--down-for", type=float, default=20.0, help="seconds node 1 stays dead")
    ap.add_argument("--sat-clients", type=int, default=64)
    ap.add_argument("--sat-seconds", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    o = ap.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    roots = stack_roots()
    if not roots["app nodes"] or not roots["HAProxy"]:
        print(f"The stack is not up ({STACK_DIR}): run `bash scripts/stack.sh up` first.", file=sys.stderr)
        return 2
    try:
        import urllib.request

        req = urllib.request.Request(BASE + "/_bench/bare", method="POST", data=b"{}")  # noqa: S310 - http only
        urllib.request.urlopen(req, timeout=5).read()  # noqa: S310
    except OSError:
        print("The nodes have no bare endpoint: restart them with BENCHMARK_ENDPOINTS=1 "
              "(bash scripts/stack.sh down; BENCHMARK_ENDPOINTS=1 bash scripts/stack.sh up).", file=sys.stderr)
        return 2
    tag = secrets.token_hex(3)
    t = time.monotonic()
    try:
        setup = build(o.pupils, tag, o.sat_clients)
    except BenchError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Set-up: {o.pupils} pupils in {-(-o.pupils // PER_SCHOOL)} schools, run tag {tag} "
          f"({time.monotonic() - t:.0f} s)")
    m, cpu0, cpu1, events, wall, _t0 = asyncio.run(run_morning(setup, o, roots))
    sat = asyncio.run(saturated(setup.sat_codes, o.sat_clients, o.sat_seconds))
    report(o, setup, m, cpu0, cpu1, events, wall, sat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
