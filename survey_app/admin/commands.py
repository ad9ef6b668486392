"""Flask commands of this area (registered by survey_app.cli.register_cli)."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from sqlalchemy import select, true

from ..db import db, utcnow
from ..models import ROLES, Partnership, School, SurveyRound
from ..services import erasure, research_export
from ..services.audit_log import record_export
from .operations import AdminError, Place, create_account


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the account may do.")
@click.option("--school", "school_urn", metavar="URN", help="The school a lead or teacher works in.")
@click.option("--partnership", "partnership_name", metavar="NAME",
              help="The partnership a lead or teacher works across.")
@click.option("--name", default="", help="The person's name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input instead of asking.")
def create_user_command(email: str, role: str, school_urn: str | None, partnership_name: str | None,
                        name: str, password_stdin: bool) -> None:
    """Create a staff account (the first administrator, or any other).

    Asks for the password twice without showing it, unless --password-stdin. Exits 1
    with a message for a weak password, an unknown school or partnership, or an email
    that already has an account.
    """
    school = partnership = None
    if school_urn:
        school = db.session.scalar(select(School).where(School.urn == school_urn.strip()))
        if school is None:
            _fail(f"No school has URN {school_urn}.")
    if partnership_name:
        partnership = db.session.scalar(
            select(Partnership).where(Partnership.name == partnership_name.strip()))
        if partnership is None:
            _fail(f"No partnership is called “{partnership_name}”.")
    if school is not None and partnership is not None:
        _fail("Give --school or --partnership, not both.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("No password on standard input.")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Password again")
    try:
        user, _ = create_account(db.session, None, email, name, role,
                                 Place(school=school, partnership=partnership), password, utcnow(),
                                 via="command line")
    except AdminError as exc:
        _fail(f"password refused. {exc}" if exc.field == "password" else str(exc))
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")


@click.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="Only say who would be erased; change nothing.")
def apply_retention_command(dry_run: bool) -> None:
    """Erase every pupil who left longer ago than RETENTION_DAYS (safe to run daily).

    Prints how many pupils, per school. A pupil is due when their leaving date (left_on)
    is older than the period; pupils still on roll are never touched. Each erasure is
    committed on its own and recorded in the audit log under the retention job. Exits 0,
    also when nothing is due.
    """
    days = int(current_app.config.get("RETENTION_DAYS", 730))
    zone = ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE", "Europe/London"))
    today = utcnow().astimezone(zone).date()
    plan = erasure.retention_plan(db.session, today, days)
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


COMMANDS: list = [create_user_command, apply_retention_command, research_export_command]
