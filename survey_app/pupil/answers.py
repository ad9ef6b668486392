"""Start, save, finish: a pupil's response and its answers.

Every answer is saved as it is given by one upsert that keeps the newest answer the
pupil gave: each carries a sequence number (server time at page load in microseconds
plus the time since, so later answers carry larger numbers across tabs and computers),
and a retried older request never overwrites a newer answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Integer, String, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import AccessCode, Answer, FactorScore, Response, ResponseScores, SurveyRound
from ..models.base import UTCDateTime
from ..privacy.keys import new_record_key, score_offset
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from ..scoring import score_answers
from ..scoring.reliability import encode_items

# A gap between two saves longer than this is time away, not time spent answering.
AWAY_AFTER = timedelta(minutes=5)
TOUCH_EVERY = timedelta(seconds=15)
MAX_ANSWERS_PER_SAVE = 200


class AnswerRefused(ValueError):
    """A save that changes nothing; `status` is the HTTP status a route should answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class GivenAnswer:
    item: str
    value: int
    seq: int


def sequence_now(now: datetime) -> int:
    """Return the sequence number of an answer given at `now` (microseconds)."""
    return int(now.timestamp() * 1_000_000)


def start_or_resume(session: Session, access: AccessCode, now: datetime) -> Response:
    """Return the pupil's response to the code's round, creating it on first sign-in.

    Two browsers signing in with the same code at once still make one response: the
    insert does nothing on conflict and both read the same row back.
    """
    survey_round = access.round
    values = {
        "round_id": access.round_id,
        "pupil_id": access.pupil_id,
        "questionnaire_version_id": survey_round.questionnaire_version_id,
        "started_at": now,
        "last_activity_at": now,
        "seconds_spent": 0,
        "mode": survey_round.mode,
        "entered_by": "pupil",
    }
    stmt = insert_for(session, Response).values(**values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["round_id", "pupil_id"]))
    if access.first_used_at is None:
        access.first_used_at = now
    session.flush()
    return session.scalars(
        select(Response).where(
            Response.round_id == access.round_id, Response.pupil_id == access.pupil_id
        )
    ).one()


def parse_given(raw: object, q: Questionnaire, default_seq: int) -> list[GivenAnswer]:
    """Return the answers in `raw` (a list of {item, value, seq}) checked against `q`.

    Refuses (AnswerRefused, 400) anything that is not a list of answers to statements of
    `q` with values on its scale, so a bad request stores nothing at all.
    """
    if not isinstance(raw, list) or not raw:
        raise AnswerRefused("No answers were sent.")
    if len(raw) > MAX_ANSWERS_PER_SAVE:
        raise AnswerRefused("Too many answers in one save.", 413)
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise AnswerRefused("Each answer needs a statement and a value.")
        item, value, seq = entry.get("item"), entry.get("value"), entry.get("seq", default_seq)
        if not isinstance(item, str) or item not in q.statement_ids:
            raise AnswerRefused("That statement is not part of this survey.")
        if isinstance(value, bool) or not isinstance(value, int) or value not in q.scale_values:
            raise AnswerRefused("That answer is not one of the choices.")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
            raise AnswerRefused("The answer's order number is not valid.")
        out.append(GivenAnswer(item, value, seq))
    return out


def check_can_answer(response: Response, now: datetime) -> None:
    """Refuse (AnswerRefused, 409) answers to a finished response or a closed round."""
    if response.finished_at is not None:
        raise AnswerRefused(_l("You have already finished this survey, so answers cannot change."), 409)
    if response.round.state(now) != "open":
        raise AnswerRefused(
            _l("This survey has closed. The answers you gave before it closed are kept."), 409
        )


def record_answers(
    session: Session, response: Response, given: list[GivenAnswer], now: datetime
) -> int:
    """Save `given` for `response` in one upsert; return how many answers were sent.

    Refuses (AnswerRefused) when the response is finished or the round closed. An answer
    with a smaller sequence number than the stored one is ignored, not an error: the
    pupil's newer answer is already safe.
    """
    check_can_answer(response, now)
    newest = _newest(given)
    rows = [
        {"response_id": response.id, "item": g.item, "value": g.value, "seq": g.seq,
         "answered_at": now}
        for g in newest.values()
    ]
    session.connection().execute(_answer_upsert(session), rows)
    touch(response, now, at_least=TOUCH_EVERY)
    return len(given)


def save_if_open(
    session: Session, response_id: int, version_id: int, given: list[GivenAnswer], now: datetime,
    reissued_at: datetime | None,
) -> bool:
    """Save `given` in one statement that also checks the response can still be answered.

    The autosave path: nothing is read first, and the statement is its own transaction
    (autocommit), so a save is one round trip to the database and is durable when this
    returns. Each answer is written only while the response (of questionnaire version
    `version_id`) is unfinished, its round open and the pupil's code not reissued since
    the pupil signed in with it (its `reissued_at` still `reissued_at`), and only over an
    older answer. Returns True when every answer was written; False means a check failed
    or an answer was older than the stored one, and the caller finds out which with
    `record_answers` (which also refuses with the reason).
    """
    rows = [
        {"response_id": response_id, "version_id": version_id, "item": g.item,
         "value": g.value, "seq": g.seq, "now": now, "reissued": reissued_at}
        for g in _newest(given).values()
    ]
    engine = session.get_bind()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        result = conn.execute(_guarded_upsert(engine.dialect.name), rows[0] if len(rows) == 1 else rows)
        return result.rowcount == len(rows)


SIGNED_OUT = _l("You have been signed out. Sign in again with your code: "
                "the answers on this screen will be sent then.")


def save_answers(
    session: Session, response_id: int, version_id: int, given: list[GivenAnswer],
    now: datetime, reissued_at: datetime | None, count_time: bool = False,
) -> None:
    """Save `given` for a response known only by id: one statement when all is well.

    `reissued_at` is when the code the pupil signed in with was issued anew (None: never).
    Refuses (AnswerRefused) as `record_answers` does, and with 401 when the response is
    gone (erased) or the code has been reissued since (the old code's session has ended).
    With `count_time` the answers and the time spent are written in one transaction, by
    the full path.
    """
    if not count_time and save_if_open(session, response_id, version_id, given, now, reissued_at):
        return
    response = session.get(Response, response_id)
    if (response is None or response.questionnaire_version_id != version_id
            or code_reissued_at(session, response) != reissued_at):
        raise AnswerRefused(SIGNED_OUT, 401)
    # A check failed (say why), an answer was older than the stored one (nothing to do),
    # or it is time to count the time spent: the full path does each of these.
    record_answers(session, response, given, now)


def code_reissued_at(session: Session, response: Response) -> datetime | None:
    """Return when the code of the response's pupil and round was last reissued (None: never)."""
    return session.scalar(select(AccessCode.reissued_at).where(
        AccessCode.round_id == response.round_id, AccessCode.pupil_id == response.pupil_id))


def _newest(given: list[GivenAnswer]) -> dict[str, GivenAnswer]:
    newest: dict[str, GivenAnswer] = {}
    for g in given:
        if g.item not in newest or g.seq > newest[g.item].seq:
            newest[g.item] = g
    return newest


_upserts: dict[tuple[str, str], object] = {}


def _guarded_upsert(name: str):
    """INSERT ... SELECT from the response when it is open ... ON CONFLICT newer wins."""
    stmt = _upserts.get((name, "guarded"))
    if stmt is None:
        r, sr, ac = Response.__table__, SurveyRound.__table__, AccessCode.__table__
        now = bindparam("now", type_=UTCDateTime())
        source = (
            select(
                r.c.id,
                bindparam("item", type_=String()),
                bindparam("value", type_=Integer()),
                bindparam("seq", type_=BigInteger()),
                now,
            )
            .join_from(r, sr, sr.c.id == r.c.round_id)
            # The pupil's code, by its unique (round, pupil) index: unchanged since sign-in.
            .join(ac, (ac.c.round_id == r.c.round_id) & (ac.c.pupil_id == r.c.pupil_id))
            .where(
                r.c.id == bindparam("response_id", type_=Integer()),
                r.c.questionnaire_version_id == bindparam("version_id", type_=Integer()),
                r.c.finished_at.is_(None),
                sr.c.opens_at <= now,
                sr.c.closes_at > now,
                ac.c.reissued_at.is_not_distinct_from(bindparam("reissued", type_=UTCDateTime())),
            )
        )
        base = _dialect_insert(name, Answer.__table__).from_select(
            ["response_id", "item", "value", "seq", "answered_at"], source
        )
        # rowcount of an INSERT is kept only when asked for (SQLAlchemy 2.0.28+).
        stmt = _newer_wins(base).execution_options(preserve_rowcount=True)
        _upserts[(name, "guarded")] = stmt
    return stmt


def _newer_wins(base):
    return base.on_conflict_do_update(
        index_elements=["response_id", "item"],
        set_={
            "value": base.excluded.value,
            "seq": base.excluded.seq,
            "answered_at": base.excluded.answered_at,
        },
        where=Answer.__table__.c.seq < base.excluded.seq,
    )


def _answer_upsert(session: Session):
    """Return the answer upsert for this database, built once: a statement without bound
    values is compiled once and reused, which matters on the autosave path."""
    name = session.get_bind().dialect.name
    stmt = _upserts.get((name, "plain"))
    if stmt is None:
        stmt = _newer_wins(insert_for(session, Answer.__table__))
        _upserts[(name, "plain")] = stmt
    return stmt


def touch(response: Response, now: datetime, at_least: timedelta = timedelta(0)) -> None:
    """Count the time since the pupil's last action as time spent, unless they were away.

    With `at_least`, a gap shorter than that is left to be counted at the next touch,
    which saves a write per answer during quick answering.
    """
    gap = now - response.last_activity_at
    if gap < at_least:
        return
    if timedelta(0) < gap <= AWAY_AFTER:
        response.seconds_spent = (response.seconds_spent or 0) + round(gap.total_seconds())
    response.last_activity_at = max(now, response.last_activity_at)


def answers_of(session: Session, response_id: int) -> dict[str, int]:
    """Return the stored answers of a response as {statement id: value}."""
    rows = session.execute(
        select(Answer.item, Answer.value).where(Answer.response_id == response_id)
    )
    return {item: value for item, value in rows}


def answered_count(session: Session, response_id: int) -> int:
    """Return how many statements of a response have an answer."""
    return session.scalar(
        select(func.count()).select_from(Answer).where(Answer.response_id == response_id)
    )


def finish_response(session: Session, response: Response, now: datetime) -> list[FactorScore]:
    """Mark `response` finished and store its factor scores; return them.

    Refuses (AnswerRefused, 409) a response already finished or a closed round.
    """
    check_can_answer(response, now)
    touch(response, now)
    response.finished_at = now
    return store_scores(session, response, now)


def store_scores(session: Session, response: Response, now: datetime) -> list[FactorScore]:
    """(Re)compute and store the factor scores of a finished response from its answers."""
    q = definition_of(response.questionnaire)
    answers = answers_of(session, response.id)
    results = score_answers(q, answers)
    session.execute(delete(FactorScore).where(FactorScore.response_id == response.id))
    scores = [
        FactorScore(
            response_id=response.id,
            round_id=response.round_id,
            factor=r.factor,
            score=r.score,
            items_answered=r.items_answered,
            items_total=r.items_total,
            band=r.band,
            item_code=factor_item_code(q, r.factor, answers),
            computed_at=now,
        )
        for r in results
    ]
    session.add_all(scores)
    session.execute(delete(ResponseScores).where(ResponseScores.response_id == response.id))
    session.add(response_scores_row(q, response, scores))
    session.flush()
    return scores


def response_scores_row(q: Questionnaire, response: Response, scores: list[FactorScore]) -> ResponseScores:
    """Return the ResponseScores row of a response: its factor scores side by side, each
    with the privacy offset it carries into protected figures (privacy.keys)."""
    by_factor = {s.factor: s for s in scores}
    if response.pupil.record_key is None:  # every pupil has one (models.people); never guess
        response.pupil.record_key = new_record_key()
    record_key = response.pupil.record_key
    values: dict[str, object] = {}
    for position, factor in enumerate(q.factors, start=1):
        s = by_factor.get(factor.key)
        if s is not None:
            values |= {f"score_{position}": s.score, f"band_{position}": s.band, f"code_{position}": s.item_code}
            if s.score is not None:
                values[f"offset_{position}"] = score_offset(record_key, factor.key, response.round_id)
    return ResponseScores(response_id=response.id, round_id=response.round_id, pupil_id=response.pupil_id,
                          **values)


def factor_item_code(q, factor: str, answers: dict[str, int]) -> int | None:
    """Return the factor's answers packed for reliability sums, or None unless all are given."""
    statements = q.statements_of(factor)
    if not statements or any(st.id not in answers for st in statements):
        return None
    lo, hi = q.scale_min, q.scale_max
    values = [(lo + hi - answers[st.id]) if st.reversed else answers[st.id] for st in statements]
    return encode_items(values, lo, hi)


def insert_for(session: Session, model):
    """Return the dialect's INSERT, which knows ON CONFLICT, for `model`."""
    return _dialect_insert(session.get_bind().dialect.name, model)


def _dialect_insert(name: str, model):
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database: {name}")
