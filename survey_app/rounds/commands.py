"""Flask commands of this area (registered by survey_app.cli.register_cli).

`list-rounds` shows every round; `codes --round ROUND` prints a round's codes. A round is
named by its id or exact name through services.rounds.find_round, as in every command
that takes `--round`.
"""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import db, utcnow
from ..models import SurveyRound
from ..services.rounds import RoundNotFound, find_round, utc_to_local
from ..services.slips import aligned, code_rows, codes_csv, codes_text


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


from .paper import import_answers  # noqa: E402  (defined beside the paper-answers routes)

COMMANDS: list = [list_rounds, codes, import_answers]
