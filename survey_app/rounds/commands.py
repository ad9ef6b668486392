"""Flask commands of this area (registered by survey_app.cli.register_cli).

`list-rounds` shows every round; `codes --round ROUND` prints a round's codes. A round is
named by its id or exact name through services.rounds.find_round, as in every command
that takes `--round`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import db
from ..jobs import enqueue
from ..jobs.commands import say_queued
from ..models import SurveyRound
from ..models.base import utcnow
from ..pupil.answers import AnswerRefused
from .jobs import RESCORE, rescore_rounds
from .operations import RoundNotFound, find_round, utc_to_local
from .paper_import import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    ImportFileError,
    check_answers_csv,
    import_answer_rows,
    read_upload,
)
from .slips import aligned, code_rows, codes_csv, codes_text


def round_from_option(ident: str) -> SurveyRound:
    """Return the round `--round` names, or stop the command with the reason (exit 1)."""
    try:
        return find_round(db.session, ident)
    except RoundNotFound as exc:
        raise click.ClickException(str(exc)) from None


@click.command("list-rounds")
def list_rounds() -> None:
    """List every survey round: id, name, phase, questionnaire, dates and state."""
    zone = current_app.config.get("DEFAULT_TIMEZONE", "Europe/London")
    now = utcnow()
    rounds = db.session.scalars(
        select(SurveyRound).options(selectinload(SurveyRound.questionnaire))
        .order_by(SurveyRound.opens_at, SurveyRound.id)
    ).all()
    if not rounds:
        click.echo("No survey rounds yet.")
        return

    def when(value) -> str:
        return utc_to_local(value, zone).strftime("%Y-%m-%d %H:%M")

    click.echo(aligned(
        ["ID", "NAME", "PHASE", "QUESTIONNAIRE", f"OPENS ({zone})", f"CLOSES ({zone})", "STATE"],
        [[str(r.id), r.name, r.phase, r.questionnaire.label, when(r.opens_at), when(r.closes_at),
          r.state(now)] for r in rounds],
    ))


@click.command("codes")
@click.option("--round", "round_ident", required=True, metavar="ROUND",
              help="The round's id, or its exact name.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
              help="csv has a header row: code, first_name, surname, year_group, school, groups, used.")
@click.option("--unused", is_flag=True, help="Only codes no pupil has used yet.")
def codes(round_ident: str, fmt: str, unused: bool) -> None:
    """Print the access codes of a round (as text or CSV)."""
    survey_round = round_from_option(round_ident)
    rows = code_rows(db.session, survey_round, unused_only=unused)
    if fmt == "csv":
        click.echo(codes_csv(rows), nl=False)
    else:
        heading = f"{survey_round.name} (round {survey_round.id}, {survey_round.phase})"
        click.echo(codes_text(rows, heading))


@click.command("rescore")
@click.option("--round", "round_ident", help="Only this round (id or exact name).")
@click.option("--queue", "queued", is_flag=True, help="Leave it to the job queue's worker (see `jobs`).")
def rescore(round_ident: str | None, queued: bool) -> None:
    """Recompute the stored factor scores of finished responses, and each round's statistics."""
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
    if queued:
        say_queued(enqueue(RESCORE, session=db.session, staff=None,
                           round_ids=[r.id for r in rounds] if round_ident else None))
        return
    total = rescore_rounds(db.session, list(rounds), utcnow(), lambda done, survey_round, n: click.echo(
        f"{survey_round.name}: {n} finished responses rescored"))
    click.echo(f"Rescored {total} responses in {len(rounds)} round(s).")


@click.command("import-answers")
@click.option("--round", "round_ident", required=True, metavar="ROUND", help="The round's id or exact name.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_answers(round_ident: str, file: Path, dry_run: bool) -> None:
    """Import paper answers from a CSV (UPN, then statement ids); imported responses are finished and
    scored. Exit 1, writing nothing, when the file or any row is refused."""
    try:
        survey_round = find_round(db.session, round_ident)
    except RoundNotFound as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Round #{survey_round.id} '{survey_round.name}' ({survey_round.questionnaire.label}): "
               f"reading {file}")
    now = utcnow()
    try:
        text = read_upload(file.read_bytes()[:MAX_UPLOAD_BYTES + 1], file.name)
        max_rows = int(current_app.config.get("PAPER_IMPORT_MAX_ROWS", MAX_ROWS))
        check = check_answers_csv(db.session, survey_round, text, None, now, max_rows)
    except ImportFileError as refused:
        for message in refused.errors:
            click.echo(f"{file}: {message}", err=True)
        sys.exit(1)
    click.echo(f"Checked {len(check.good) + len(check.bad)} rows: {len(check.good)} can be imported "
               f"({check.answers} answers; {check.continued} continue a response in progress), "
               f"{len(check.bad)} refused.")
    for bad in check.bad:
        for problem in bad.problems:
            click.echo(f"{file}: row {bad.row}{f' ({bad.upn})' if bad.upn else ''}: {problem}", err=True)
    if check.bad:
        click.echo(f"{len(check.bad)} rows refused: nothing was imported. Fix them and run again.", err=True)
        sys.exit(1)
    if dry_run:
        click.echo(f"Dry run: {len(check.good)} responses would be imported. Nothing was written.")
        return
    try:
        result = import_answer_rows(
            db.session, survey_round, check.good, None, file.name, now,
            progress=lambda done, total: click.echo(f"Imported {done} of {total} responses…"))
    except AnswerRefused as refused:
        db.session.rollback()
        click.echo(refused.message, err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Imported {result.responses} responses ({result.created} new, "
               f"{result.responses - result.created} continued; {result.answers} answers). "
               "Each is finished and scored like an online response.")


COMMANDS: list = [list_rounds, codes, import_answers, rescore]
