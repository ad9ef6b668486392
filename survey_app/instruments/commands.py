"""`check-questionnaire PATH` and `load-questionnaires` (registered by survey_app.cli)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from ..db import db
from ..questionnaires import QuestionnaireError, load_questionnaire
from ..questionnaires.store import sync_directory


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
    worded = [f.key for f in q.factors if f.strength and f.invitations and f.family_strength
              and f.family_focus and f.family_help]
    click.echo(f"{path}: OK: {q.summary()}; sha256 {q.content_hash[:12]}; "
               f"pupil and family wording for {len(worded)} of {len(q.factors)} factors")


@click.command("load-questionnaires")
def load_questionnaires() -> None:
    """Store every questionnaire file in QUESTIONNAIRE_DIR (new contents get new rows)."""

    try:
        rows = sync_directory(db.session, current_app.config["QUESTIONNAIRE_DIR"])
    except QuestionnaireError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    for row in rows:
        click.echo(f"{row.key} v{row.version} ({row.content_hash[:12]}) stored as #{row.id}")



COMMANDS: list = [check_questionnaire, load_questionnaires]
