"""`backup PATH`, `restore PATH`, `apply-retention` and `research-export` (registered by
survey_app.cli.register_cli).

Which database is used follows DATABASE_URL, as for every other command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import true

from ..audit.log import record_export
from ..db import db
from ..jobs import enqueue
from ..jobs.commands import say_queued
from ..models import SurveyRound
from ..models.base import utcnow
from . import erasure
from . import research as research_export
from .backup import BackupError, read_header, restore_backup, write_backup
from .jobs import BACKUP, RETENTION, code_head, retention_plan_today


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--queue", "queued", is_flag=True,
              help="Leave it to the job queue's worker (PATH is on the worker's machine; see `jobs`).")
def backup_command(path: Path, queued: bool) -> None:
    """Write a consistent backup of the whole database to PATH (a .jsonl.gz file).

    Safe while pupils are answering: every table is read from one snapshot. The file
    holds pupils' personal data and is readable by its owner only; keep it safe.
    """
    if queued:
        say_queued(enqueue(BACKUP, session=db.session, staff=None, path=str(path.resolve())))
        return
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


@click.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="Only say who would be erased; change nothing.")
@click.option("--queue", "queued", is_flag=True, help="Leave it to the job queue's worker (see `jobs`).")
def apply_retention_command(dry_run: bool, queued: bool) -> None:
    """Erase every pupil who left longer ago than RETENTION_DAYS (safe to run daily).

    Prints how many pupils, per school. A pupil is due when their leaving date (left_on)
    is older than the period; pupils still on roll are never touched. Each erasure is
    committed on its own and recorded in the audit log under the retention job. Exits 0,
    also when nothing is due.
    """
    if queued and not dry_run:
        say_queued(enqueue(RETENTION, session=db.session, staff=None))
        return
    plan, days = retention_plan_today(db.session)
    click.echo(f"Retention period: {days} days. Pupils who left before {plan.cutoff.isoformat()} are erased.")
    if not plan.count:
        click.echo("No pupils are due for erasure. Nothing to do.")
        return
    verb = "would be erased" if dry_run else "to erase"
    click.echo(f"{plan.count} pupil{'' if plan.count == 1 else 's'} {verb}:")
    for name, urn, n in plan.by_school:
        click.echo(f"  {name} (URN {urn}): {n}")
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
        return
    totals = erasure.apply_retention(
        db.session, plan, progress=lambda done, total: click.echo(f"  … {done} of {total}"))
    click.echo(
        f"Erased {totals['pupils']} pupil{'' if totals['pupils'] == 1 else 's'}: "
        f"{totals.get('responses', 0)} responses, {totals.get('answers', 0)} answers, "
        f"{totals.get('support_entries', 0)} support notes, {totals.get('access_codes', 0)} access codes."
    )


@click.command("research-export")
@click.option("--round", "round_ids", type=int, multiple=True, required=True, metavar="ID",
              help="A round to include (repeat for several; see list-rounds).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The CSV file to write.")
def research_export_command(round_ids: tuple[int, ...], out: Path) -> None:
    """Write the pseudonymised research export of the given rounds to a CSV file.

    One row per finished response: pseudonym, round, school pseudonym, year group, gender,
    SEN, FSM, EAL, every answer and every factor score and band; no names, UPNs or codes.
    Refuses (exit 1) an unknown round or fewer pupils than SUPPRESSION_THRESHOLD. Recorded
    in the audit log.
    """
    rounds = []
    for ident in dict.fromkeys(round_ids):
        survey_round = db.session.get(SurveyRound, ident)
        if survey_round is None:
            _fail(f"No round has id {ident}. See list-rounds.")
        rounds.append(survey_round)
    config = current_app.config
    try:
        export = research_export.plan_export(db.session, rounds, true(), int(config.get("SUPPRESSION_THRESHOLD", 5)))
    except research_export.ResearchExportError as exc:
        _fail(str(exc))
    key = research_export.pseudonym_key(config)
    zone = config.get("DEFAULT_TIMEZONE", "Europe/London")
    with out.open("w", newline="", encoding="utf-8") as handle:
        for text in research_export.export_csv(db.session, export, key, zone):
            handle.write(text)
    record_export(db.session, None, "research export (CSV)", rounds=[r.id for r in rounds],
                  pupils=export.pupils, responses=len(export.responses), via="command line")
    db.session.commit()
    click.echo(f"Wrote {len(export.responses)} responses of {export.pupils} pupils to {out}")



COMMANDS: list = [backup_command, restore_command, apply_retention_command, research_export_command]
