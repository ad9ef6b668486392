"""Flask commands of the tracking area (registered by survey_app.cli.register_cli)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from ..audit.log import record_export
from ..cohort.selection import CohortSelection
from ..db import db
from ..models import Group, School
from ..models.base import utcnow
from .files import MAX_BYTES, TOO_BIG, TrackingFileError, decode
from .imports import KINDS, apply_import, preview_import
from .patterns import NOTE
from .queries import tracking_list
from .table import table_of, to_csv, to_xlsx


def _run_import(kind_name: str, urn: str, path: Path, dry_run: bool) -> None:
    kind = KINDS[kind_name]
    school = db.session.scalar(select(School).where(School.urn == urn.strip()))
    if school is None:
        click.echo(f"No school has URN {urn}. `flask --app survey_app list-schools` lists them.", err=True)
        sys.exit(1)
    click.echo(f"Reading {path}…", nl=False)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise TrackingFileError(TOO_BIG)
        checked = kind.read(decode(path.read_bytes()))
    except TrackingFileError as exc:
        click.echo("")
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    click.echo(f" {checked.total_rows} rows")
    preview = preview_import(db.session, school, kind, checked)
    click.echo(f"To add: {len(preview.to_add)}; to change: {len(preview.to_change)}; "
               f"unchanged: {preview.unchanged}; refused: {len(preview.problems)}")
    for problem in preview.problems:
        click.echo(f"  refused row {problem.row}" + (f" ({problem.upn})" if problem.upn else "")
                   + f": {problem.reason}")
    if dry_run:
        click.echo("Dry run: nothing was written.")
        sys.exit(1 if preview.problems else 0)
    if preview.problems:
        click.echo(f"Nothing was written: {len(preview.problems)} rows were refused. Correct them and "
                   "import the file again.", err=True)
        sys.exit(1)

    def progress(done: int, total: int) -> None:
        if total > 1000:
            click.echo(f"  written {done:,} of {total:,}")

    try:
        result = apply_import(db.session, school, None, preview, filename=path.name, progress=progress)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        click.echo(f"Nothing was written: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Added {result.added}, changed {result.changed}, unchanged {result.unchanged}, "
               f"refused {result.refused}.")


@click.command("import-attainment")
@click.option("--school", "urn", required=True, help="URN of the school the pupils are on roll at.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
def import_attainment(urn: str, path: Path, dry_run: bool) -> None:
    """Import results (UPN, Subject, Assessment, Date, Result; Target, Prediction, Scale).

    Exit status 1 when the file or any row is refused (and then nothing is written).
    """
    _run_import("attainment", urn, path, dry_run)


@click.command("import-attendance")
@click.option("--school", "urn", required=True, help="URN of the school the pupils are on roll at.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
def import_attendance(urn: str, path: Path, dry_run: bool) -> None:
    """Import attendance (UPN, From, To, and Attendance % or Possible and Attended).

    Exit status 1 when the file or any row is refused (and then nothing is written).
    """
    _run_import("attendance", urn, path, dry_run)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _group_id(ident: str) -> int:
    if ident.strip().isdigit():
        group = db.session.get(Group, int(ident))
    else:
        found = db.session.scalars(select(Group).where(Group.name == ident.strip())).all()
        group = found[0] if len(found) == 1 else None
        if len(found) > 1:
            _fail(f"Several groups are called \u201c{ident}\u201d: give the group's id instead.")
    if group is None:
        _fail(f"No group {ident} (give its id or its exact name).")
    return group.id


@click.command("export-tracking")
@click.option("--group", "group", help="A group's id or exact name.")
@click.option("--school", "urn", help="A school's URN.")
@click.option("--year", "year", type=click.IntRange(0, 14), help="A year group (0 for Reception).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write: .csv or .xlsx.")
def export_tracking(group: str | None, urn: str | None, year: int | None, out: Path) -> None:
    """Write the tracking list (pupils, attitudes, attainment against target, attendance,
    interventions, open targets, and each pattern with the reason) for a group, a school or
    a year group."""
    if group is None and urn is None and year is None:
        _fail("Choose the pupils: --group, --school or --year (they combine).")
    if out.suffix.lower() not in (".csv", ".xlsx"):
        _fail(f"{out}: the file name must end in .csv or .xlsx.")
    school_ids: tuple[int, ...] = ()
    if urn is not None:
        school = db.session.scalar(select(School).where(School.urn == urn.strip()))
        if school is None:
            _fail(f"No school has URN {urn}. `flask --app survey_app list-schools` lists them.")
        school_ids = (school.id,)
    selection = CohortSelection(school_ids=school_ids, group_ids=(_group_id(group),) if group else (),
                                year_groups=(year,) if year is not None else ())
    cols, rows = table_of(tracking_list(db.session, None, selection, utcnow()), detailed=True)
    if out.suffix.lower() == ".csv":
        out.write_text(to_csv(cols, rows), encoding="utf-8")
    else:
        out.write_bytes(to_xlsx(cols, rows, NOTE))
    record_export(db.session, None, f"tracking list ({out.suffix.lower()[1:].upper()})", rows=len(rows),
                  group=group, school=urn, year=year)
    db.session.commit()
    click.echo(f"Wrote {len(rows)} pupils to {out}.")


COMMANDS: list = [import_attainment, import_attendance, export_tracking]
