"""Freeze questionnaire files into QuestionnaireVersion rows and read them back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import QuestionnaireVersion
from . import Questionnaire, load_directory, load_questionnaire, parse_definition


def store_questionnaire(session: Session, q: Questionnaire) -> QuestionnaireVersion:
    """Return the row holding exactly `q`, adding it when this content is new.

    A file edited without a new version number still gets its own row (its hash
    differs), so answers already given keep the wording they were given under.
    """
    row = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.key == q.key,
            QuestionnaireVersion.content_hash == q.content_hash,
        )
    )
    if row is None:
        row = QuestionnaireVersion(
            key=q.key,
            version=q.version,
            content_hash=q.content_hash,
            title=q.title,
            definition=q.definition,
        )
        session.add(row)
        session.flush()
    return row


def sync_directory(session: Session, directory: str | Path) -> list[QuestionnaireVersion]:
    """Store every questionnaire file of `directory`; return their rows.

    Refuses (QuestionnaireError) when any file is invalid, storing nothing.
    """
    questionnaires = load_directory(directory)
    return [store_questionnaire(session, q) for q in questionnaires]


def store_file(session: Session, path: str | Path) -> QuestionnaireVersion:
    """Store one questionnaire file; refuses (QuestionnaireError) an invalid one."""
    return store_questionnaire(session, load_questionnaire(path))


_parsed: dict[tuple[int, str], Questionnaire] = {}


def cached_definition(session: Session, version_id: int, content_hash: str) -> Questionnaire:
    """Return the definition of a questionnaire version known by id and hash, reading the
    row (and its JSON) only when this process has not parsed it yet."""
    q = _parsed.get((version_id, content_hash))
    if q is None:
        q = definition_of(session.get(QuestionnaireVersion, version_id))
    return q


def definition_of(row: QuestionnaireVersion) -> Questionnaire:
    """Return the parsed, validated definition stored in `row` (cached per process).

    Rows never change once written, so the cache needs no invalidation.
    """
    key = (row.id, row.content_hash)
    q = _parsed.get(key)
    if q is None:
        q = parse_definition(row.definition, f"questionnaire version {row.id}")
        _parsed[key] = q
    return q
