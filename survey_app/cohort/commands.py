"""Commands: `reliability --round ROUND [--format csv] [--by-language]` and `export-cohort`.

The commands run as the server's operator, who sees every school (like an admin), unless
`--as EMAIL` names a staff account: then `export-cohort` sees what that person sees, and
figures counting pupils they may not see one by one are protected as on their pages.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, or_, select, true

from ..accounts.scope import Scope
from ..db import db
from ..files.cells import safe_cell
from ..models import Group, Response, School, StaffUser
from ..models.base import utcnow
from ..questionnaires.store import definition_of
from ..questionnaires.translations import language_label
from ..rounds.aggregates import round_aggregates
from ..rounds.commands import round_from_option
from ..scoring.reliability import alpha_from_moments
from .build import CohortError, cohort_report
from .selection import answered_in, parse_selection


@dataclass(frozen=True)
class _Operator:
    """The person at the server's command line: sees everything."""

    id: int | None = None
    role: str = "admin"
    partnership_id: int | None = None
    school_id: int | None = None


def operator_scope() -> Scope:
    return Scope(_Operator())  # type: ignore[arg-type]


def scope_for(email: str | None) -> Scope:
    """Return the scope of the active staff account with this email, or the operator's
    when none is given; refuses (ClickException) an email that is no active account."""
    if not email:
        return operator_scope()
    user = db.session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))
    if user is None or not user.active:
        raise click.ClickException(f"No active staff account has the email '{email}'.")
    return Scope(user)


@click.command("reliability")
@click.option("--round", "round_ident", required=True, help="The round's id or exact name.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--by-language", is_flag=True,
              help="Alpha per language of administration (a translation that changes what a "
                   "statement means shows as a different alpha).")
def reliability(round_ident: str, fmt: str, by_language: bool) -> None:
    """Cronbach's alpha per factor of a round (pupils who answered every statement of the factor)."""
    survey_round = round_from_option(round_ident)
    q = definition_of(survey_round.questionnaire)
    if by_language:
        languages = db.session.scalars(
            select(Response.language).where(Response.round_id == survey_round.id)
            .distinct().order_by(Response.language)).all()
        parts = [(code, answered_in([code], [survey_round.id])) for code in languages]
    else:
        parts = [(None, true())]
    rows = []
    for code, cohort in parts:
        moments = round_aggregates(db.session, [survey_round], cohort, None).items[survey_round.id]
        for factor in q.factors:
            k = len(q.statements_of(factor.key))
            m = moments.get((0, factor.key))
            n = m.n if m else 0
            alpha = None
            if m and n >= 2:
                alpha = alpha_from_moments(n, m.item_sums, m.item_sumsq, m.total_sum, m.total_sumsq).alpha
            rows.append((code, factor.key, n, k, alpha))
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow((["language"] if by_language else []) + ["factor", "n", "statements", "alpha"])
        for code, key, n, k, alpha in rows:
            writer.writerow(([safe_cell(code)] if by_language else [])
                            + [safe_cell(key), n, k, "" if alpha is None else f"{alpha:.4f}"])
        return
    click.echo(f"Cronbach's alpha, round {survey_round.id} \u201c{survey_round.name}\u201d ({q.key} v{q.version})")
    shown_language = object()
    for code, key, n, k, alpha in rows:
        if code != shown_language:
            if by_language:
                click.echo(f"Language: {language_label(code)} ({code})")
            click.echo(f"{'factor':<32} {'n':>6} {'statements':>10} {'alpha':>7}")
            shown_language = code
        shown = "-" if alpha is None else f"{alpha:.3f}"
        click.echo(f"{key:<32} {n:>6} {k:>10} {shown:>7}")


def _school_ids(values: tuple[str, ...]) -> list[str]:
    out = []
    for value in values:
        text = value.strip()
        cond = or_(School.urn == text, School.name == text)
        if text.isdigit():
            cond = or_(cond, School.id == int(text))
        matches = db.session.scalars(select(School.id).where(cond)).all()
        if len(matches) != 1:
            raise click.ClickException(
                f"No single school has the id, URN or name '{text}'." if not matches
                else f"Several schools match '{text}'; give the id or URN.")
        out.append(str(matches[0]))
    return out


def _group_ids(values: tuple[str, ...]) -> list[str]:
    out = []
    for value in values:
        text = value.strip()
        cond = Group.name == text
        if text.isdigit():
            cond = or_(cond, Group.id == int(text))
        matches = db.session.scalars(select(Group.id).where(cond)).all()
        if len(matches) != 1:
            raise click.ClickException(
                f"No single group has the id or name '{text}'." if not matches
                else f"Several groups are named '{text}'; give the id.")
        out.append(str(matches[0]))
    return out


@click.command("export-cohort")
@click.option("--round", "rounds", multiple=True, required=True, help="A round's id or name (two or more).")
@click.option("--school", "schools", multiple=True, help="A school's id, URN or name (repeat for several).")
@click.option("--group", "groups", multiple=True, help="A group's id or name (repeat for several).")
@click.option("--year", "years", multiple=True, help="A year group (repeat for several).")
@click.option("--gender", "genders", multiple=True)
@click.option("--sen", "sen", multiple=True, help="N (none), K (SEN support) or E (EHC plan).")
@click.option("--fsm", type=click.Choice(["yes", "no", "any"]), default="any")
@click.option("--eal", type=click.Choice(["yes", "no", "any"]), default="any")
@click.option("--flag", "flags", multiple=True, help="A pupil flag's id.")
@click.option("--split", default="", help="Compare two sub-groups: fsm, eal, sen, group:ID or flag:ID.")
@click.option("--chart", default=None, help="For png/svg/pdf/html: one chart (default: all, in a ZIP).")
@click.option("--format", "fmt", required=True,
              type=click.Choice(["png", "svg", "pdf", "html", "csv", "xlsx", "report", "zip"]))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "as_email", default=None, metavar="EMAIL",
              help="Run as this staff account: their scope, their protected figures (default: the operator, all).")
def export_cohort(rounds, schools, groups, years, genders, sen, fsm, eal, flags, split, chart, fmt, out,
                  as_email) -> None:
    """Export the cohort change report (charts, tables, printable report or everything)."""
    from ..charts.cohort import CHARTS
    from .exports import export_report

    if chart is not None and chart not in CHARTS:
        raise click.ClickException(f"Unknown chart '{chart}'; choose one of: {', '.join(CHARTS)}.")
    args = {
        "round": [str(round_from_option(r).id) for r in rounds],
        "school": _school_ids(schools),
        "group": _group_ids(groups),
        "year": list(years), "gender": list(genders), "sen": list(sen), "fsm": [fsm], "eal": [eal],
        "flag": list(flags), "split": [split] if split else [],
    }
    parsed = parse_selection(args)
    if parsed.errors:
        raise click.ClickException(" ".join(parsed.errors))
    scope = scope_for(as_email)
    click.echo("Working out the statistics ...", err=True)
    try:
        report = cohort_report(db.session, scope, parsed.selection, utcnow(),
                               int(current_app.config.get("SUPPRESSION_THRESHOLD", 5)),
                               current_app.config.get("DEFAULT_TIMEZONE", "Europe/London"))
    except CohortError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()

    def progress(fraction: float, message: str) -> None:
        click.echo(f"[{fraction * 100:5.1f}%] {message}", err=True)

    exported = export_report(report, fmt, chart=chart, progress=progress)
    if scope.user.id is not None:
        from ..audit.log import record_export

        record_export(db.session, scope.user.id, f"cohort change ({fmt}, command line)", format=fmt, chart=chart,
                      selection=report.selection_query, rounds=[r.id for r in report.rounds])
        db.session.commit()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(exported.data)
    click.echo(f"Wrote {out} ({len(exported.data):,} bytes, {exported.mimetype}) for "
               f"{report.selection_label}; rounds: {', '.join(r.name for r in report.rounds)}.")


COMMANDS = (reliability, export_cohort)
