"""Flask commands of the tracking area (registered by survey_app.cli.register_cli)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from ..db import db
from ..models import School
from .files import MAX_BYTES, TOO_BIG, TrackingFileError, decode
from .imports import KINDS, apply_import, preview_import


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


COMMANDS: list = [import_attainment, import_attendance]
