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
    click.echo(f"{path}: OK: {q.summary()}; sha256 {q.content_hash[:12]}")


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



@click.command("load-media")
@click.argument("instrument")
@click.argument("kind", type=click.Choice(["sign", "audio"]))
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--language", default="", help="bsl, isl or asl for signing; for audio, the one language allowed")
def load_media(instrument: str, kind: str, archive: Path, language: str) -> None:
    """Check a ZIP of signing or recorded audio for INSTRUMENT and store it (as the staff page does)."""
    from ..instruments.media_check import MediaLimits, MediaRefused, check_media_zip
    from ..instruments.operations import store_media
    from ..instruments.queries import instruments
    from ..models.base import utcnow

    found = {i.key: i for i in instruments(db.session)}.get(instrument)
    if found is None:
        click.echo(f"{instrument}: no such questionnaire is stored (run load-questionnaires first)", err=True)
        sys.exit(1)
    config = current_app.config
    limits = MediaLimits(config["MEDIA_MAX_FILE_BYTES"], config["MEDIA_MAX_ZIP_BYTES"], config["MEDIA_MAX_FILES"])
    language = language.strip().lower() or ("bsl" if kind == "sign" else "")
    try:
        with archive.open("rb") as stream:
            files = check_media_zip(stream, kind=kind, language=language, subjects=set(found.subjects), limits=limits)
    except MediaRefused as refused:
        for message in refused.errors:
            click.echo(f"{archive}: {message}", err=True)
        sys.exit(1)
    store_media(db.session, None, instrument=instrument, kind=kind, language=language, files=files,
                media_dir=config["MEDIA_DIR"], now=utcnow())
    click.echo(f"{archive}: {len(files)} file(s) stored for {instrument}")


COMMANDS: list = [check_questionnaire, load_questionnaires, load_media]
