"""Flask commands of this area (registered by survey_app.cli.register_cli)."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from ..db import db
from ..models import ROLES, Partnership, School
from ..models.base import utcnow
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






COMMANDS: list = [create_user_command]
