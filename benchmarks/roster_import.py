#!/usr/bin/env python
"""Roster import benchmark: a 2,000-pupil CSV through parse, preview and apply; and the
same 15,000 pupils as a CSV, a Common Transfer File and a OneRoster bundle.

Run from the project root (inside the venv):

    python benchmarks/roster_import.py                    # 2,000 rows, SQLite then PostgreSQL
    python benchmarks/roster_import.py --rows 500 --backend sqlite
    python benchmarks/roster_import.py --formats          # 15,000 pupils: CSV, CTF, OneRoster

For each backend it makes a fresh database (a temporary SQLite file, or a throwaway
PostgreSQL schema that is dropped afterwards), creates the tables, generates a roster CSV
with every column the import reads, and measures, for a fresh school each repetition:

1. import: decode + parse + preview + apply + commit of N new pupils;
2. re-import of the same file, which must change nothing;
3. import of the file with every pupil's year group and reg group changed;
4. the baseline: the same N rows written by one `session.execute(insert(Pupil), rows)`.

Time is the median over the repetitions; SQL statements are counted with a
`before_cursor_execute` listener (an executemany counts once). The ratio import / bulk
insert shows what checking, comparing and change-logging cost on top of the bare write.

With --formats, the same pupils are written as the three kinds of file, and each is
imported from disk as `import-pupils` does (read the file, parse, preview, apply, commit)
into a fresh school: the time of one untraced run, and the peak of Python's memory
(tracemalloc) over a second run into another fresh school, beside the file's size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the benchmark drives the app's own services

from survey_app import create_app  # noqa: E402
from survey_app.db import db  # noqa: E402
from survey_app.models import ChangeLog, Pupil, School  # noqa: E402
from survey_app.models.base import utcnow  # noqa: E402
from survey_app.models.upn import make_upn  # noqa: E402
from survey_app.schools.roster import apply_import, preview_import  # noqa: E402
from survey_app.schools.roster_csv import MAX_ROWS, decode_upload, parse_roster  # noqa: E402
from survey_app.schools.roster_files import read_roster_file  # noqa: E402
from tests.schools.mis_files import ctf_xml, made_up_pupils, oneroster_zip  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HEADER = ("UPN,Legal Surname,Legal Forename,Preferred Forename,Year,Reg Group,Gender,SEN Status,"
          "FSM Eligible,First Language")
LANGUAGES = ["English", "English", "English", "Polish", "Urdu", "English", "Romanian"]
SEN = ["N", "N", "N", "N", "SEN Support", "N", "EHC Plan"]


def roster_csv(rows: int, serial_base: int, year_shift: int = 0) -> bytes:
    """Return a UTF-8 (with BOM) roster as a school information system exports it."""
    lines = [HEADER]
    for i in range(rows):
        year = 7 + (i + year_shift) % 7
        lines.append(",".join([
            make_upn(801, serial_base + i // 1000, 24, i % 1000), f"Surname{i:04d}", f"Legal{i:04d}",
            "" if i % 5 else f"Pref{i:04d}", f"Year {year}", f"{year}{'ABCD'[(i + year_shift) % 4]}",
            "MF"[i % 2], SEN[i % 7], "Yes" if i % 4 == 0 else "No", LANGUAGES[i % 7],
        ]))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


@dataclass
class Measure:
    seconds: float
    queries: int
    parts: dict[str, float]


def import_file(school: School, content: bytes) -> tuple[Measure, object]:
    """Import `content` into `school` the way the command does; return time, queries, result."""
    parts = {}
    with QueryCounter(db.engine) as counter:
        start = time.perf_counter()
        parsed = parse_roster(decode_upload(content))
        parts["parse"] = time.perf_counter() - start
        mark = time.perf_counter()
        preview = preview_import(db.session, school, parsed)
        parts["preview"] = time.perf_counter() - mark
        mark = time.perf_counter()
        result = apply_import(db.session, school, None, preview, filename="bench.csv")
        db.session.commit()
        parts["apply"] = time.perf_counter() - mark
        elapsed = time.perf_counter() - start
    if preview.problems:
        raise SystemExit(f"benchmark file has refused rows: {preview.problems[:3]}")
    return Measure(elapsed, counter.count, parts), result


def bulk_insert(school: School, content: bytes) -> Measure:
    """The baseline: the same pupils written by one bulk INSERT (no checks, no log)."""
    parsed = parse_roster(decode_upload(content))
    now = utcnow()
    rows = [{"school_id": school.id, "upn": r.upn, "sen": "N", "fsm": False, "eal": False, "reg_group": None,
             "gender": None, **r.values, "archived": False, "created_at": now, "updated_at": now}
            for r in parsed.rows]
    with QueryCounter(db.engine) as counter:
        start = time.perf_counter()
        db.session.execute(sa.insert(Pupil), rows)
        db.session.commit()
        elapsed = time.perf_counter() - start
    return Measure(elapsed, counter.count, {})


def new_school(n: int) -> School:
    school = School(urn=f"{900000 + n}", name=f"Benchmark School {n}")
    db.session.add(school)
    db.session.commit()
    return school


def run_backend(url: str, rows: int, repeat: int) -> dict[str, list[Measure]]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark", "TESTING": True})
    results: dict[str, list[Measure]] = {"import": [], "re-import": [], "changed": [], "bulk": []}
    with app.app_context():
        db.create_all()
        try:
            for rep in range(repeat):
                school = new_school(rep * 2)
                content = roster_csv(rows, 1000 + rep * 10)
                measure, result = import_file(school, content)
                assert result.added == rows, result
                results["import"].append(measure)
                stamp = db.session.scalar(sa.select(sa.func.max(Pupil.updated_at)).where(Pupil.school_id == school.id))
                logged = db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog)
                                           .where(ChangeLog.entity == "pupil"))
                measure, result = import_file(school, content)
                assert (result.added, result.changed, result.unchanged) == (0, 0, rows), result
                assert stamp == db.session.scalar(
                    sa.select(sa.func.max(Pupil.updated_at)).where(Pupil.school_id == school.id))
                assert logged == db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog)
                                                   .where(ChangeLog.entity == "pupil"))
                results["re-import"].append(measure)
                measure, result = import_file(school, roster_csv(rows, 1000 + rep * 10, year_shift=1))
                assert result.changed == rows, result
                results["changed"].append(measure)
                results["bulk"].append(bulk_insert(new_school(rep * 2 + 1), content))
        finally:
            db.session.remove()
            db.engine.dispose()
    return results


def with_sqlite(action: Callable[[str], dict]) -> dict:
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp:
        return action("sqlite:///" + str(Path(tmp) / "bench.sqlite3"))


def with_postgresql(action: Callable[[str], dict]) -> dict:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        return action(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def median(measures: list[Measure], key: Callable[[Measure], float]) -> float:
    return statistics.median(key(m) for m in measures)


def report(backend: str, rows: int, results: dict[str, list[Measure]]) -> None:
    labels = {"import": f"import {rows} new pupils", "re-import": "re-import (changes nothing)",
              "changed": f"import, all {rows} changed", "bulk": "bulk INSERT (baseline)"}
    print(f"\n{backend}: {rows} rows, median of {len(results['import'])} runs")
    print(f"  {'phase':<30}{'total ms':>10}{'parse':>8}{'preview':>9}{'apply':>8}"
          f"{'queries':>9}{'q/row':>8}{'rows/s':>9}")
    for key, label in labels.items():
        ms = median(results[key], lambda m: m.seconds) * 1000
        queries = median(results[key], lambda m: m.queries)
        part = [f"{median(results[key], lambda m, p=p: m.parts.get(p, 0)) * 1000:>{w}.0f}"
                if key != "bulk" else f"{'-':>{w}}" for p, w in (("parse", 8), ("preview", 9), ("apply", 8))]
        print(f"  {label:<30}{ms:>10.0f}{''.join(part)}{queries:>9.0f}{queries / rows:>8.4f}"
              f"{rows / (ms / 1000):>9.0f}")
    ratio = median(results["import"], lambda m: m.seconds) / median(results["bulk"], lambda m: m.seconds)
    print(f"  ratio import / bulk INSERT: {ratio:.1f}x")


def same_pupils_csv(pupils) -> bytes:
    """The pupils of `made_up_pupils` as a CSV export with the same fields a CTF gives."""
    lines = ["UPN,Surname,Preferred Forename,Forename,Year,Gender,Date of Birth,SEN,FSM,First Language"]
    lines += [",".join([p.upn, p.surname, p.preferred, p.forename, str(p.year), p.gender, p.born.isoformat(),
                        p.sen, "Yes" if p.fsm else "No", p.language]) for p in pupils]
    return ("\r\n".join(lines) + "\r\n").encode()


def import_path(school: School, path: Path) -> int:
    """Import a file from disk as the command does; return the pupils added."""
    with path.open("rb") as stream:
        roster = read_roster_file(stream, urn=school.urn)
    preview = preview_import(db.session, school, parse_roster(roster.text))
    if preview.problems:
        raise SystemExit(f"{path.name}: refused rows: {preview.problems[:3]}")
    result = apply_import(db.session, school, None, preview, filename=path.name)
    db.session.commit()
    return result.added


def run_formats(backends: list[str], rows: int) -> int:
    import tracemalloc

    pupils = made_up_pupils(rows)
    print(f"Roster import by kind of file: the same {rows:,} pupils, imported from disk into a fresh school")
    with tempfile.TemporaryDirectory(prefix="roster-formats-") as tmp:
        files = {"CSV": Path(tmp) / "pupils.csv", "CTF (XML)": Path(tmp) / "pupils.xml",
                 "OneRoster (ZIP)": Path(tmp) / "pupils.zip"}
        files["CSV"].write_bytes(same_pupils_csv(pupils))
        files["CTF (XML)"].write_bytes(ctf_xml(pupils, urn="990000"))
        files["OneRoster (ZIP)"].write_bytes(oneroster_zip(pupils, urn="990000", other_school=False))
        for backend in backends:
            def measure(url: str) -> dict:
                app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark", "TESTING": True})
                out = {}
                with app.app_context():
                    db.create_all()
                    try:
                        for n, (label, path) in enumerate(files.items()):
                            school = School(urn=f"{990000 + 2 * n}", name=f"Formats {n}")
                            traced = School(urn=f"{990001 + 2 * n}", name=f"Formats traced {n}")
                            db.session.add_all([school, traced])
                            db.session.commit()
                            start = time.perf_counter()
                            added = import_path(school, path)
                            seconds = time.perf_counter() - start
                            assert added == rows, (label, added)
                            tracemalloc.start()
                            try:
                                import_path(traced, path)
                                peak = tracemalloc.get_traced_memory()[1]
                            finally:
                                tracemalloc.stop()
                            out[label] = (seconds, peak, path.stat().st_size)
                    finally:
                        db.session.remove()
                        db.engine.dispose()
                return out

            runner = with_sqlite if backend == "sqlite" else with_postgresql
            try:
                results = runner(measure)
            except sa.exc.OperationalError as exc:
                print(f"\n{backend}: could not run ({str(exc).splitlines()[0]})", file=sys.stderr)
                return 2
            base_s, base_peak, _ = results["CSV"]
            print(f"\n{backend}:")
            print(f"  {'file':<18}{'size MB':>9}{'import s':>10}{'vs CSV':>8}{'peak MB':>9}{'vs CSV':>8}")
            for label, (seconds, peak, size) in results.items():
                print(f"  {label:<18}{size / 2**20:>9.1f}{seconds:>10.2f}{seconds / base_s:>7.1f}x"
                      f"{peak / 2**20:>9.1f}{peak / base_peak:>7.1f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="pupils in the file (at most 2,000)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="fresh schools to import into (median)")
    parser.add_argument("--formats", action="store_true",
                        help="compare CSV, CTF and OneRoster imports of the same pupils (--rows default 15,000)")
    args = parser.parse_args(argv)
    if args.formats and args.rows == 2000 and "--rows" not in (argv or sys.argv):
        args.rows = MAX_ROWS
    if not 1 <= args.rows <= MAX_ROWS:
        parser.error(f"--rows must be 1 to {MAX_ROWS} (the import's limit)")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.formats:
        return run_formats(backends, args.rows)
    print(f"Roster import benchmark: {args.rows} rows, {args.repeat} runs per backend")
    for backend in backends:
        runner = with_sqlite if backend == "sqlite" else with_postgresql
        try:
            results = runner(lambda url: run_backend(url, args.rows, args.repeat))
        except sa.exc.OperationalError as exc:
            print(f"\n{backend}: could not run ({str(exc).splitlines()[0]})", file=sys.stderr)
            return 2
        report(backend, args.rows, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
