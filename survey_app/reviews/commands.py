"""`review-pack --group G --kind sheet|family [--lang CODE] --out FILE.pdf` and
`family-letter --round ROUND --out FILE.pdf` (registered by survey_app.cli)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from ..db import db
from ..models import Group
from ..models.base import utcnow
from ..questionnaires.translations import SOURCE_LANGUAGE
from ..rounds.commands import round_from_option
from .letters import letters_for, letters_pdf
from .pdf import family_pdf, pdf_can_draw, sheets_pdf
from .queries import group_pupils
from .sheets import conversation_sheet, family_summary_or_english


def _group(text: str) -> Group:
    text = text.strip()
    if text.isdigit() and (found := db.session.get(Group, int(text))) is not None:
        return found
    matches = db.session.scalars(select(Group).where(Group.name == text)).all()
    if len(matches) != 1:
        raise click.ClickException(f"No group has the id or name '{text}'." if not matches else
                                   f"{len(matches)} groups are named '{text}' (ids "
                                   f"{', '.join(str(g.id) for g in matches)}); give the id.")
    return matches[0]


def _progress(done: int, total: int, _name: str) -> None:
    click.echo(f"  {done} of {total} pupils", err=True)


@click.command("review-pack")
@click.option("--group", "group_ident", required=True, help="The group's id or exact name.")
@click.option("--kind", type=click.Choice(["sheet", "family"]), required=True,
              help="Conversation sheets for the tutor, or family summaries.")
@click.option("--lang", "lang", default=SOURCE_LANGUAGE, show_default=True,
              help="Family summaries in this language where each pupil's latest round offers it "
                   "(else English); a language in the Latin script.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write.")
def review_pack(group_ident: str, kind: str, lang: str, out: Path) -> None:
    """Write one PDF of every pupil's conversation sheet or family summary in a group."""
    if lang != SOURCE_LANGUAGE and kind != "family":
        raise click.ClickException("--lang is for family summaries (--kind family).")
    if not pdf_can_draw(lang):
        raise click.ClickException(f"The PDF cannot draw the script of '{lang}'; print each pupil's "
                                   "family summary page from the browser instead.")
    group = _group(group_ident)
    pupils = group_pupils(db.session, group, None)
    now = utcnow()
    threshold = int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))
    click.echo(f"{group.name}: {len(pupils)} pupils", err=True)
    if kind == "sheet":
        data = sheets_pdf([conversation_sheet(db.session, p, now, None, threshold) for p in pupils],
                          title=f"Conversation sheets: {group.name}", progress=_progress)
    else:
        directory = current_app.config["QUESTIONNAIRE_DIR"]
        summaries = [family_summary_or_english(db.session, p, now, lang, directory) for p in pupils]
        data = family_pdf(summaries, title=f"Family summaries: {group.name}", progress=_progress)
        if lang != SOURCE_LANGUAGE:
            english = sum(1 for s in summaries if s.language != lang)
            click.echo(f"{len(summaries) - english} in {lang}, {english} in English "
                       "(their latest round does not offer it)", err=True)
    db.session.commit()  # (round statistics computed for reliable change are kept)
    out.write_bytes(data)
    click.echo(f"Wrote {out} ({len(pupils)} pupils, {len(data)} bytes)")


@click.command("family-letter")
@click.option("--round", "round_ident", required=True, help="The round's id or exact name.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write.")
def family_letter(round_ident: str, out: Path) -> None:
    """Write the letter to families of a round (one page per school taking part)."""
    survey_round = round_from_option(round_ident)
    letters = letters_for(db.session, survey_round, int(current_app.config.get("RETENTION_DAYS", 730)))
    data = letters_pdf(letters)
    out.write_bytes(data)
    click.echo(f"Wrote {out} ({len(letters)} letters for \u201c{survey_round.name}\u201d)")


COMMANDS: list = [review_pack, family_letter]
