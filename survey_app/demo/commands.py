"""`demo-data [--codes-csv PATH]` (registered by survey_app.cli)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask import current_app

from ..db import db
from ..files.cells import safe_row
from ..models.base import utcnow
from ..questionnaires import QuestionnaireError
from .operations import build_demo_data, unused_codes


@click.command("demo-data")
@click.option("--codes-csv", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the open round's unused codes to this CSV file.")
@click.option("--logins-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to keep the demo staff sign-ins (default instance/demo-logins.txt).")
def demo_data(codes_csv: Path | None, logins_file: Path | None) -> None:
    """Build the demo partnership (idempotent), with progress output."""

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



COMMANDS: list = [demo_data]
