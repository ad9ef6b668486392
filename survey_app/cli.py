"""Flask commands: check a questionnaire, build demo data."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from .csv_safety import safe_row
from .db import db, utcnow
from .questionnaires import QuestionnaireError, load_questionnaire


@click.command("check-questionnaire")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def check_questionnaire(path: Path) -> None:
    """Check a questionnaire file: print every problem (exit 1) or a summary (exit 0)."""
    try:
        q = load_questionnaire(path)
    except QuestionnaireError as exc:
        for message in exc.errors:
            click.echo(f"{exc.source}: {message}", err=True)
        click.echo(f"{exc.source}: {len(exc.errors)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"{path}: OK: {q.summary()}; sha256 {q.content_hash[:12]}")


@click.command("load-questionnaires")
def load_questionnaires() -> None:
    """Store every questionnaire file in QUESTIONNAIRE_DIR (new contents get new rows)."""
    from .services.questionnaire_store import sync_directory

    try:
        rows = sync_directory(db.session, current_app.config["QUESTIONNAIRE_DIR"])
    except QuestionnaireError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    for row in rows:
        click.echo(f"{row.key} v{row.version} ({row.content_hash[:12]}) stored as #{row.id}")


@click.command("demo-data")
@click.option("--codes-csv", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the open round's unused codes to this CSV file.")
@click.option("--logins-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to keep the demo staff sign-ins (default instance/demo-logins.txt).")
def demo_data(codes_csv: Path | None, logins_file: Path | None) -> None:
    """Build the demo partnership (idempotent), with progress output."""
    from .services.demo import build_demo_data, unused_codes

    try:
        result = build_demo_data(
            db.session, current_app.config["QUESTIONNAIRE_DIR"], utcnow(),
            progress=lambda message: click.echo(message),
        )
    except QuestionnaireError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(
        f"Demo data {'created' if result.created else 'already present'}: {result.schools} schools, "
        f"{result.pupils} pupils, {result.groups} groups, {result.rounds} rounds, "
        f"{result.answers} answers."
    )
    logins_file = logins_file or Path(current_app.instance_path) / "demo-logins.txt"
    if result.logins:
        # Random passwords made now: keep them (owner-only file) so they can be shown again.
        lines = [f"{role:8} {email:34} {password}" for role, email, password in result.logins]
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        logins_file.chmod(0o600)
    if logins_file.exists():
        click.echo(f"Staff sign-in at /staff/sign-in (kept in {logins_file}):")
        for line in logins_file.read_text(encoding="utf-8").splitlines()[:3]:
            click.echo("  " + line)
        click.echo(f"  … and a teacher for each group: see {logins_file}")
    if codes_csv and result.open_round is not None:
        rows = unused_codes(db.session, result.open_round)
        with codes_csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["code"])
            writer.writeheader()
            writer.writerows(safe_row(row) for row in rows)
        click.echo(f"Wrote {len(rows)} unused codes of '{result.open_round.name}' to {codes_csv}")


@click.command("rescore")
@click.option("--round", "round_ident", help="Only this round (id or exact name).")
def rescore(round_ident: str | None) -> None:
    """Recompute the stored factor scores of finished responses, and each round's statistics."""
    from sqlalchemy import select

    from .models import Response, SurveyRound
    from .services.responses import store_scores
    from .services.round_stats import compute_round_stats

    rounds_stmt = select(SurveyRound).order_by(SurveyRound.id)
    if round_ident:
        condition = SurveyRound.name == round_ident
        if round_ident.isdigit():
            condition = condition | (SurveyRound.id == int(round_ident))
        rounds_stmt = rounds_stmt.where(condition)
    rounds = db.session.scalars(rounds_stmt).all()
    if round_ident and len(rounds) != 1:
        click.echo(f"No single round matches {round_ident!r}: give its id (see list-rounds).", err=True)
        sys.exit(1)
    now = utcnow()
    total = 0
    for survey_round in rounds:
        responses = db.session.scalars(
            select(Response).where(Response.round_id == survey_round.id, Response.finished_at.is_not(None))
        ).all()
        for response in responses:
            store_scores(db.session, response, now)
        compute_round_stats(db.session, survey_round, now)
        db.session.commit()
        total += len(responses)
        click.echo(f"{survey_round.name}: {len(responses)} finished responses rescored")
    click.echo(f"Rescored {total} responses in {len(rounds)} round(s).")


def register_cli(app: Flask) -> None:
    """Add the project's commands to `flask --app survey_app` (each area brings its own)."""
    from .admin.commands import COMMANDS as admin_commands
    from .backup_commands import COMMANDS as backup_commands
    from .cohort.commands import COMMANDS as cohort_commands
    from .rounds.commands import COMMANDS as round_commands
    from .schools.commands import COMMANDS as school_commands

    for command in (check_questionnaire, load_questionnaires, demo_data, rescore,
                    *admin_commands, *school_commands, *round_commands, *backup_commands,
                    *cohort_commands):
        app.cli.add_command(command)
