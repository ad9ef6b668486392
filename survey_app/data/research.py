"""A pseudonymised research export: one row per finished response, for an evaluator.

Each row holds a stable pseudonym for the pupil (HMAC-SHA256 of the pupil's id with a
secret key, 12 hex characters), the round, a pseudonym for the school, the pupil's
year group, gender, SEN, FSM and EAL as they are now, every answer as given (one column
per statement id, before reverse-scoring), every factor score and band, and the date the
response was finished. Never names, UPNs, dates of birth, access codes or notes.

The same pupil has the same pseudonym in every export made with the same key, so an
evaluator can pair a pupil's rounds. An export of fewer pupils than the suppression
threshold is refused. Nothing here reads the request or commits.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..files.cells import safe_cell
from ..models import Answer, FactorScore, Pupil, QuestionnaireVersion, Response, SurveyRound
from ..questionnaires.store import definition_of

PSEUDONYM_LENGTH = 12
CHUNK = 500
FIXED_COLUMNS = ["pupil", "round", "phase", "questionnaire", "school", "year_group", "gender", "sen",
                 "fsm", "eal", "finished_on"]


class ResearchExportError(Exception):
    """The export is refused; the message says why in plain words."""


def pseudonym_key(config) -> bytes:
    """Return the key pseudonyms are made with: PSEUDONYM_KEY, else one derived from SECRET_KEY."""
    if config.get("PSEUDONYM_KEY"):
        return str(config["PSEUDONYM_KEY"]).encode()
    return hmac.new(str(config["SECRET_KEY"]).encode(), b"research-export-pseudonyms", hashlib.sha256).digest()


def pseudonym(key: bytes, pupil_id: int) -> str:
    """Return the pupil's pseudonym: HMAC-SHA256 of the id, first 12 hex characters."""
    return hmac.new(key, str(pupil_id).encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def school_pseudonym(key: bytes, school_id: int) -> str:
    """Return the school's pseudonym (a different input from any pupil's, so never equal)."""
    return "S-" + hmac.new(key, f"school:{school_id}".encode(), hashlib.sha256).hexdigest()[:8]


def research_pupil_condition(scope: Scope) -> ColumnElement[bool]:
    """Condition on the pupils whose responses `scope`'s user may export: those in scope,
    and for a partnership lead only pupils whose school shares their data with the
    partnership (the others are seen only inside suppressed aggregates)."""
    condition = scope.pupil_condition()
    if not scope.is_admin and scope.user.partnership_id is not None:
        condition = and_(condition, Pupil.shared_with_partnership.is_(True))
    return condition


@dataclass(frozen=True)
class ExportRound:
    """What a row says of its round (plain values, read when the export is planned)."""

    id: int
    name: str
    phase: str


@dataclass
class ResearchExport:
    """What an export will hold: its rounds, the responses (one row each) and the columns.

    Plain values only, no ORM objects: the file is written while the response streams,
    after the request's database session has been committed and closed, so nothing here
    may need loading from it again.
    """

    rounds: list[ExportRound]
    responses: list  # rows: id, pupil_id, round_id, finished_at, version id, school_id, year group…
    statement_ids: list[str]
    factors: list[str]
    version_labels: dict[int, str]

    @property
    def pupils(self) -> int:
        return len({r.pupil_id for r in self.responses})

    @property
    def columns(self) -> list[str]:
        scores = [f"{f}_{part}" for f in self.factors for part in ("score", "band")]
        return FIXED_COLUMNS + self.statement_ids + scores


def exportable_counts(session: Session, round_ids: Sequence[int], pupils: ColumnElement[bool]) -> tuple[int, int]:
    """Return (finished responses, distinct pupils) an export of `round_ids` would hold."""
    row = session.execute(
        select(func.count(Response.id), func.count(Response.pupil_id.distinct()))
        .join(Pupil, Pupil.id == Response.pupil_id)
        .where(Response.round_id.in_(list(round_ids)), Response.finished_at.is_not(None), pupils)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def plan_export(session: Session, rounds: Sequence[SurveyRound], pupils: ColumnElement[bool],
                threshold: int) -> ResearchExport:
    """Return the export of the finished responses of `rounds` by the pupils `pupils` keeps.

    Refuses (ResearchExportError) no rounds, or fewer pupils than `threshold`.
    """
    if not rounds:
        raise ResearchExportError("Choose at least one round.")
    round_ids = [r.id for r in rounds]
    responses = session.execute(
        select(Response.id, Response.pupil_id, Response.round_id, Response.finished_at,
               Response.questionnaire_version_id, Pupil.school_id, Pupil.year_group, Pupil.gender,
               Pupil.sen, Pupil.fsm, Pupil.eal)
        .join(Pupil, Pupil.id == Response.pupil_id)
        .where(Response.round_id.in_(round_ids), Response.finished_at.is_not(None), pupils)
    ).all()
    export = ResearchExport([ExportRound(r.id, r.name, r.phase) for r in rounds], list(responses), [], [], {})
    if export.pupils < threshold:
        raise ResearchExportError(
            f"This export would hold {export.pupils} pupil{'' if export.pupils == 1 else 's'} who "
            f"finished. An export needs at least {threshold} pupils, so that no pupil can be "
            "recognised from their answers. Add more rounds or wait until more pupils have finished."
        )
    version_ids = sorted({r.questionnaire_version_id for r in responses} | {r.questionnaire_version_id for r in rounds})
    versions = {v.id: v for v in session.scalars(
        select(QuestionnaireVersion).where(QuestionnaireVersion.id.in_(version_ids)))}
    ordered = [r.questionnaire_version_id for r in rounds] + version_ids
    export.version_labels = {v.id: v.label for v in versions.values()}
    for version_id in dict.fromkeys(ordered):
        q = definition_of(versions[version_id])
        export.statement_ids += [s.id for s in q.statements if s.id not in export.statement_ids]
        export.factors += [f.key for f in q.factors if f.key not in export.factors]
    return export


def export_rows(session: Session, export: ResearchExport, key: bytes, zone: str) -> Iterator[list]:
    """Yield the header, then one row per response, sorted by round then pseudonym.

    Answers and scores are read a chunk of responses at a time, not all at once.
    """
    yield export.columns
    tz = ZoneInfo(zone)
    rounds = {r.id: r for r in export.rounds}
    order = {r.id: i for i, r in enumerate(export.rounds)}
    rows = sorted(export.responses, key=lambda r: (order[r.round_id], pseudonym(key, r.pupil_id)))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        ids = [r.id for r in chunk]
        answers: dict[int, dict[str, int]] = {i: {} for i in ids}
        for rid, item, value in session.execute(
                select(Answer.response_id, Answer.item, Answer.value).where(Answer.response_id.in_(ids))):
            answers[rid][item] = value
        scores: dict[int, dict[str, tuple]] = {i: {} for i in ids}
        for rid, factor, score, band in session.execute(
                select(FactorScore.response_id, FactorScore.factor, FactorScore.score, FactorScore.band)
                .where(FactorScore.response_id.in_(ids))):
            scores[rid][factor] = (score, band)
        for r in chunk:
            survey_round = rounds[r.round_id]
            finished: datetime = r.finished_at
            row = [
                pseudonym(key, r.pupil_id), survey_round.name, survey_round.phase,
                export.version_labels[r.questionnaire_version_id], school_pseudonym(key, r.school_id),
                r.year_group, r.gender or "", r.sen, int(bool(r.fsm)), int(bool(r.eal)),
                finished.astimezone(tz).date().isoformat(),
            ]
            row += [answers[r.id].get(item, "") for item in export.statement_ids]
            for factor in export.factors:
                score, band = scores[r.id].get(factor, (None, None))
                row += ["" if score is None else round(score, 1), band or ""]
            yield [safe_cell(v) for v in row]


def export_csv(session: Session, export: ResearchExport, key: bytes, zone: str) -> Iterator[str]:
    """Yield the export as CSV text, a few lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for n, row in enumerate(export_rows(session, export, key, zone), start=1):
        writer.writerow(row)
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
