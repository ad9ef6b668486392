"""`flask backup PATH` and `flask restore PATH` (registered by survey_app.cli.register_cli).

Which database is used follows DATABASE_URL, as for every other command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask import current_app

from .db import db, utcnow
from .services.backup import BackupError, read_header, restore_backup, write_backup


def code_head() -> str | None:
    """Return the newest schema revision this version of the app knows."""
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent backup of the whole database to PATH (a .jsonl.gz file).

    Safe while pupils are answering: every table is read from one snapshot. The file
    holds pupils' personal data and is readable by its owner only; keep it safe.
    """
    try:
        summary = write_backup(db.engine, db.metadata, path, utcnow(), head=code_head())
    except BackupError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"Could not write {path}: {exc}")
    size = path.stat().st_size
    click.echo(f"Backed up {summary.rows} rows from {len(summary.tables)} tables "
               f"({summary.dialect}, schema revision {summary.revision}) to {path} "
               f"({size / 1024:.0f} KB).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Delete everything in the database first (otherwise it must be empty).")
def restore_command(path: Path, replace: bool) -> None:
    """Load a backup made by `flask backup` into this database, in one transaction.

    The database must be at the same schema revision as the backup (run `flask db
    upgrade` on an empty database first) and empty, unless --replace. Stop the web
    workers first: pupils' saves during a restore would be lost.
    """
    if not path.is_file():
        _fail(f"There is no backup file at {path}.")
    try:
        header = read_header(path)
        click.echo(f"Restoring a backup of {header.get('created_at', 'unknown date')} "
                   f"(from {header.get('dialect')}, schema revision {header.get('revision')})…")
        summary = restore_backup(db.engine, db.metadata, path, replace=replace, head=code_head())
    except BackupError as exc:
        _fail(f"{exc} Nothing was changed.")
    click.echo(f"Restored {summary.rows} rows into {len(summary.tables)} tables ({summary.dialect}).")


COMMANDS: list = [backup_command, restore_command]
