"""Commands: `create-authority`, `broker-partnership`, `add-authority-staff`,
`compute-norms` and `norm-cutoffs` (thin: parse, call the operation, report)."""

from __future__ import annotations

import click
from sqlalchemy import select

from ..db import db
from ..models import Partnership, StaffUser
from ..models.authority import Authority, NormTable
from ..models.base import utcnow
from ..models.staff import normalise_email
from .norms import DEFAULT_MIN_PUPILS, NormError, compute_norms, cutoffs_from_norms, table_label
from .operations import AuthorityError, attach_staff, broker_partnership, create_authority


def _authority(name: str) -> Authority:
    found = db.session.scalar(select(Authority).where(Authority.name == name))
    if found is None:
        raise click.ClickException(f"No authority called {name}.")
    return found


def _partnership(name: str) -> Partnership:
    found = db.session.scalar(select(Partnership).where(Partnership.name == name))
    if found is None:
        raise click.ClickException(f"No partnership called {name}.")
    return found


@click.command("create-authority")
@click.argument("name")
@click.option("--school", "schools", multiple=True, metavar="URN", help="A school of the authority (repeat).")
def create_authority_command(name: str, schools: tuple[str, ...]) -> None:
    """Create an authority (or trust) holding the schools with these URNs."""
    try:
        authority = create_authority(db.session, name, list(schools))
    except AuthorityError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Authority {authority.name} created with {len(schools)} school(s)")


@click.command("broker-partnership")
@click.option("--authority", "authority_name", required=True)
@click.option("--partnership", "partnership_name", required=True)
@click.option("--started-on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="YYYY-MM-DD")
@click.option("--supported", multiple=True, metavar="URN", required=True, help="A school causing concern (repeat).")
@click.option("--supporting", multiple=True, metavar="URN", required=True, help="An effective school (repeat).")
def broker_partnership_command(authority_name, partnership_name, started_on, supported, supporting) -> None:
    """Record a partnership the authority brokered: its start date and the schools it pairs."""
    try:
        broker_partnership(db.session, _authority(authority_name), _partnership(partnership_name), started_on.date(),
                           list(supported), list(supporting))
    except AuthorityError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{partnership_name} brokered by {authority_name} from {started_on.date().isoformat()}")


@click.command("add-authority-staff")
@click.argument("email")
@click.option("--authority", "authority_name", required=True)
def add_authority_staff_command(email: str, authority_name: str) -> None:
    """Make an existing staff account a member of the authority's staff (aggregates only)."""
    authority = _authority(authority_name)
    staff = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if staff is None:
        raise click.ClickException(f"No staff account {email}.")
    attach_staff(db.session, authority, staff)
    db.session.commit()
    click.echo(f"{staff.email} now sees {authority.name}'s aggregates only")


@click.command("compute-norms")
@click.option("--authority", "authority_name", required=True)
@click.option("--partnership", "partnership_name", default=None, help="Only this partnership's rounds.")
@click.option("--questionnaire", "questionnaire_key", default="pass9-secondary", show_default=True)
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), required=True, help="YYYY-MM-DD")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), required=True, help="YYYY-MM-DD")
@click.option("--min-pupils", type=click.IntRange(5, None), default=DEFAULT_MIN_PUPILS, show_default=True)
def compute_norms_command(authority_name, partnership_name, questionnaire_key, date_from, date_to,
                          min_pupils) -> None:
    """Compute the next version of a local norm table (percentiles by factor and year group)."""
    partnership = _partnership(partnership_name) if partnership_name else None
    try:
        table = compute_norms(db.session, _authority(authority_name), partnership, questionnaire_key,
                              date_from.date(), date_to.date(), utcnow(), min_pupils)
    except NormError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Norm table #{table.id} ({table.reference} version {table.version}): {table_label(table)}; "
               f"{len(table.cells)} cells")


@click.command("norm-cutoffs")
@click.argument("table_id", type=int)
@click.option("--percentiles", default="10,25,50", show_default=True, help="One per cut-off, rising.")
def norm_cutoffs_command(table_id: int, percentiles: str) -> None:
    """Print band cut-offs set from a norm table, as lines for the questionnaire file."""
    table = db.session.get(NormTable, table_id)
    if table is None:
        raise click.ClickException(f"No norm table #{table_id}.")
    try:
        wanted = tuple(int(p) for p in percentiles.split(","))
        cutoffs = cutoffs_from_norms(table, wanted)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, NormError) else "Percentiles are whole numbers."
        raise click.ClickException(message) from exc
    click.echo(f"# Band cut-offs at percentiles {', '.join(map(str, wanted))} of the {table_label(table)}")
    for factor, values in cutoffs.items():
        click.echo(f"# {factor}\ncutoffs = [{', '.join(f'{v:.1f}' for v in values)}]")


COMMANDS: list = [create_authority_command, broker_partnership_command, add_authority_staff_command,
                  compute_norms_command, norm_cutoffs_command]

