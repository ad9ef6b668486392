"""Reads of the instruments area: which instruments exist, which files each has, and
whether a visitor may receive a file."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import MediaFile, QuestionnaireVersion
from ..models.media import SIGN_LANGUAGES
from ..questionnaires.store import definition_of
from .media_check import subjects_of


@dataclass(frozen=True)
class Instrument:
    """An instrument (questionnaire key) with the names its files may have."""

    key: str
    title: str
    subjects: frozenset[str]


def instruments(session: Session) -> list[Instrument]:
    """Return every stored instrument, its newest title, and the file names any of its
    versions allows (statements kept by an older version still get their files)."""
    found: dict[str, tuple[str, set[str]]] = {}
    for row in session.scalars(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id)):
        q = definition_of(row)
        title, names = found.get(row.key, ("", set()))
        names |= subjects_of((s.id for s in q.statements), (o.value for o in q.scale))
        found[row.key] = (q.title, names)
    return [Instrument(key, title, frozenset(names)) for key, (title, names) in sorted(found.items())]


@dataclass(frozen=True)
class MediaSet:
    instrument: str
    kind: str
    language: str
    files: int
    size: int


def media_sets(session: Session) -> list[MediaSet]:
    """Return a summary of every stored set (instrument, kind, language: files and bytes)."""
    rows = session.execute(
        select(MediaFile.instrument, MediaFile.kind, MediaFile.language, func.count(), func.sum(MediaFile.size))
        .group_by(MediaFile.instrument, MediaFile.kind, MediaFile.language)
        .order_by(MediaFile.instrument, MediaFile.kind, MediaFile.language)
    ).all()
    return [MediaSet(*row[:4], int(row[4] or 0)) for row in rows]


@dataclass(frozen=True)
class InstrumentMedia:
    """The files of one instrument for the pupil page: ids by language and text."""

    audio: dict[str, dict[str, int]]   # language -> subject -> file id
    sign: dict[str, dict[str, int]]    # sign language -> subject -> file id

    def sign_languages(self) -> list[str]:
        return [code for code in SIGN_LANGUAGES if self.sign.get(code)]


def media_of(session: Session, instrument: str) -> InstrumentMedia:
    """Return every file id of `instrument`, grouped for the pupil page."""
    audio: dict[str, dict[str, int]] = {}
    sign: dict[str, dict[str, int]] = {}
    for file_id, kind, language, subject in session.execute(
        select(MediaFile.id, MediaFile.kind, MediaFile.language, MediaFile.subject)
        .where(MediaFile.instrument == instrument)
    ):
        (audio if kind == "audio" else sign).setdefault(language, {})[subject] = file_id
    return InstrumentMedia(audio, sign)


def instrument_of_version(session: Session, version_id: int) -> str | None:
    """Return the instrument key of a questionnaire version (None: no such version)."""
    return session.scalar(select(QuestionnaireVersion.key).where(QuestionnaireVersion.id == version_id))


def signing_offered(session: Session) -> bool:
    """Return True when any instrument has sign-language video (the start page then offers
    "always show signing")."""
    return session.scalar(select(MediaFile.id).where(MediaFile.kind == "sign").limit(1)) is not None
