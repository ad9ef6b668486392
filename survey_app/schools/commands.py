"""Flask commands of this area (registered by survey_app.cli.register_cli)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from ..db import db
from ..models import School
from .pupils import show_value
from .roster import apply_import, preview_import
from .roster_csv import RosterFileError, parse_roster
from .roster_files import read_roster_file


@click.command("list-schools")
def list_schools() -> None:
    """Print every school's URN and name, one per line."""
    for school in db.session.scalars(select(School).order_by(School.urn)):
        click.echo(f"{school.urn}  {school.name}")


@click.command("import-pupils")
@click.option("--school", "urn", required=True, help="URN of the school the pupils are on roll at.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@click.option("--force-valid-only", is_flag=True,
              help="Import the good rows even when some rows are refused.")
@click.option("--upn-field", default=None, metavar="FIELD",
              help="OneRoster only: the users.csv column holding the UPN, or userIds:TYPE for a typed "
                   "userIds entry (default: a userIds entry typed UPN, else identifier).")
@click.option("--classes-as-groups", is_flag=True,
              help="OneRoster only: make each class a group of the school and add its students to it.")
def import_pupils(urn: str, path: Path, dry_run: bool, force_valid_only: bool, upn_field: str | None,
                  classes_as_groups: bool) -> None:
    """Import or update a school's pupils from a roster (matched by UPN): a CSV, a OneRoster
    1.1 CSV bundle (.zip) or a DfE Common Transfer File (.xml), told apart by content.

    Exit status 1 when the file or any row is refused (and then nothing is written),
    unless --force-valid-only is given; --dry-run never writes.
    """
    school = db.session.scalar(select(School).where(School.urn == urn.strip()))
    if school is None:
        click.echo(f"No school has URN {urn}. `flask --app survey_app list-schools` lists them.", err=True)
        sys.exit(1)
    click.echo(f"Reading {path}…", nl=False)
    try:
        with path.open("rb") as stream:
            roster = read_roster_file(stream, urn=school.urn, upn_field=upn_field,
                                      classes_as_groups=classes_as_groups)
        parsed = parse_roster(roster.text)
    except RosterFileError as exc:
        click.echo("")
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    click.echo(f" {parsed.total_rows} rows" + ("" if roster.kind == "csv" else f" ({roster.label})"))
    click.echo(f"Checking against {school.name} ({school.urn})…", nl=False)
    preview = preview_import(db.session, school, parsed)
    click.echo(" done")
    click.echo(f"To add: {len(preview.to_add)}; to change: {len(preview.to_change)}; "
               f"unchanged: {len(preview.unchanged)}; refused: {len(preview.problems)}")
    if preview.groups is not None:
        click.echo(f"Groups: {len(preview.groups.to_make)} to make; {len(preview.groups.joins)} pupils to add "
                   "to their class groups")
    for change in preview.to_change if dry_run else ():
        what = ", ".join(f"{f} {show_value(f, old)} → {show_value(f, new)}" for f, (old, new) in
                         change.changes.items())
        click.echo(f"  change row {change.row.row} ({change.row.upn}): {what}")
    for problem in preview.problems:
        click.echo(f"  refused row {problem.row}" + (f" ({problem.upn})" if problem.upn else "")
                   + f": {problem.reason}")
    if preview.not_in_file:
        click.echo(f"{preview.not_in_file} pupils on roll at {school.name} are not in this file; "
                   "they are left as they are.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
        sys.exit(1 if preview.problems else 0)
    if preview.problems and not force_valid_only:
        click.echo(f"Nothing was written: {len(preview.problems)} rows were refused. Correct them, or "
                   "run again with --force-valid-only to import the other rows.", err=True)
        sys.exit(1)
    click.echo("Writing…", nl=False)
    try:
        result = apply_import(db.session, school, None, preview, filename=path.name)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        click.echo("")
        click.echo(f"Nothing was written: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    click.echo(" done")
    click.echo(f"Added {result.added}, changed {result.changed}, unchanged {result.unchanged}, "
               f"refused {result.refused}.")
    if preview.groups is not None and preview.groups.joins:
        click.echo(f"Made {len(preview.groups.to_make)} groups; added {len(preview.groups.joins)} pupils to "
                   "their class groups.")


COMMANDS: list = [list_schools, import_pupils]
