"""`check-questionnaire PATH` and `load-questionnaires` (registered by survey_app.cli)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from ..db import db
from ..questionnaires import QuestionnaireError, load_questionnaire, translations
from ..questionnaires.store import sync_directory


@click.command("check-questionnaire")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def check_questionnaire(path: Path) -> None:
    """Check a questionnaire file and its translations (or one translation file): print
    every problem (exit 1) or a summary of each file (exit 0)."""
    try:
        problems = _check(path)
    except QuestionnaireError as exc:
        problems = [exc]
    for exc in problems:
        for message in exc.errors:
            click.echo(f"{exc.source}: {message}", err=True)
        click.echo(f"{exc.source}: {len(exc.errors)} problem(s) found", err=True)
    if problems:
        sys.exit(1)


def _check(path: Path) -> list[QuestionnaireError]:
    """Check `path`, echo each good file's summary; return the problems of the bad ones."""
    if path.parent.name == translations.DIRECTORY:
        instrument = path.name.split(".", 1)[0]
        q = load_questionnaire(path.parent.parent / f"{instrument}.toml")
        paths = [path]
    else:
        q = load_questionnaire(path)
        worded = [f.key for f in q.factors if f.strength and f.invitations and f.family_strength
                  and f.family_focus and f.family_help]
        click.echo(f"{path}: OK: {q.summary()}; sha256 {q.content_hash[:12]}; "
                   f"pupil and family wording for {len(worded)} of {len(q.factors)} factors")
        paths = translations.translation_files(path.parent, q.key)
    problems = []
    for file in paths:
        try:
            tr = translations.load_translation(file, q)
        except QuestionnaireError as exc:
            problems.append(exc)
            continue
        click.echo(f"{file}: OK: {tr.summary()}")
    return problems


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
