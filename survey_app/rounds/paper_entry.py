"""Staff typing in a pupil's paper answers: who may, and the writes shared with imports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from ..accounts.scope import Scope
from ..audit.changes import record_change
from ..models import Answer, Pupil, Response, StaffUser, SurveyRound, group_members
from ..pupil.answers import AnswerRefused, answers_of, insert_for, sequence_now, store_scores
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of

# Bound the parameters of one statement (SQLite allows 32,766; PostgreSQL 65,535).
CHUNK = 500


# ----- who and what may be entered --------------------------------------------------


def round_pupil_or_404(session: Session, scope: Scope, survey_round: SurveyRound, pupil_id) -> Pupil:
    """Return the pupil when `scope` sees them in one of the round's groups it sees.

    Refuses (NotFound) a pupil outside the scope, archived, or not in the round.
    """
    pupil = scope.pupil_or_404(session, pupil_id)
    group_ids = [g.id for g in scope.groups_of_round(session, survey_round)]
    in_round = session.scalar(
        select(func.count()).select_from(group_members).where(
            group_members.c.pupil_id == pupil.id, group_members.c.group_id.in_(group_ids)
        )
    )
    if pupil.archived or not in_round:
        raise NotFound()
    return pupil


def response_of(session: Session, survey_round: SurveyRound, pupil_id: int) -> Response | None:
    """Return the pupil's response to the round, if they (or staff) have started one."""
    return session.scalar(
        select(Response).where(Response.round_id == survey_round.id, Response.pupil_id == pupil_id)
    )


def questionnaire_for(survey_round: SurveyRound, response: Response | None) -> Questionnaire:
    """Return the definition answers are given under: the response's, else the round's."""
    return definition_of(response.questionnaire if response is not None else survey_round.questionnaire)


def check_can_enter(survey_round: SurveyRound, response: Response | None, now: datetime) -> None:
    """Refuse (AnswerRefused, 409) a round not open yet or a response already finished."""
    if survey_round.state(now) == "scheduled":
        raise AnswerRefused("This round has not opened yet, so no answers can be entered for it.", 409)
    if response is not None and response.finished_at is not None:
        raise AnswerRefused(
            f"This survey was finished ({how_entered(response.entered_by)}), so its answers cannot "
            "be changed.", 409
        )


def how_entered(entered_by: str) -> str:
    """Return how a response's answers were given (Response.entered_by), in words for staff."""
    return {
        "pupil": "online by the pupil",
        "staff": "typed in by staff from paper",
        "import": "imported from a paper-answers file",
    }.get(entered_by, entered_by)


# ----- writing ----------------------------------------------------------------------


def ensure_response(
    session: Session, survey_round: SurveyRound, pupil_id: int, entered_by: str,
    staff: StaffUser | None, now: datetime,
) -> Response:
    """Return the pupil's response to the round, creating it when there is none.

    A pupil signing in at the same moment still makes one response: the insert does
    nothing on conflict and both read the same row.
    """
    create_responses(session, survey_round, [pupil_id], entered_by, staff, now)
    return session.scalars(
        select(Response).where(Response.round_id == survey_round.id, Response.pupil_id == pupil_id)
    ).one()


def create_responses(
    session: Session, survey_round: SurveyRound, pupil_ids: list[int], entered_by: str,
    staff: StaffUser | None, now: datetime,
) -> None:
    """Insert a response for each pupil who has none for the round (others are left alone)."""
    for start in range(0, len(pupil_ids), CHUNK):
        rows = [
            {"round_id": survey_round.id, "pupil_id": pid,
             "questionnaire_version_id": survey_round.questionnaire_version_id,
             "started_at": now, "last_activity_at": now, "seconds_spent": 0,
             "mode": survey_round.mode, "entered_by": entered_by,
             "entered_by_staff_id": staff.id if staff else None}
            for pid in pupil_ids[start:start + CHUNK]
        ]
        stmt = insert_for(session, Response).values(rows)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["round_id", "pupil_id"]))


def upsert_answers(session: Session, rows: list[dict]) -> None:
    """Store answer rows, each kept only where it is newer (larger seq) than the stored one."""
    # The same newest-wins upsert as online saves (services.responses.record_answers);
    # it is repeated here because paper may be typed in after the round has closed.
    for start in range(0, len(rows), CHUNK):
        stmt = insert_for(session, Answer).values(rows[start:start + CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=["response_id", "item"],
            set_={"value": stmt.excluded.value, "seq": stmt.excluded.seq,
                  "answered_at": stmt.excluded.answered_at},
            where=Answer.seq < stmt.excluded.seq,
        )
        session.execute(stmt)


def mark_entered(response: Response, entered_by: str, staff: StaffUser | None, now: datetime) -> None:
    """Record who entered the answers last ('staff' or 'import') and when."""
    # Staff typing is not the pupil's time, so seconds_spent is left alone.
    response.entered_by = entered_by
    response.entered_by_staff_id = staff.id if staff else None
    response.last_activity_at = max(now, response.last_activity_at)


def check_chosen(chosen: dict[str, int | None], q: Questionnaire) -> None:
    """Refuse (AnswerRefused, 400) statements not in `q` and values off its scale."""
    for item, value in chosen.items():
        if item not in q.statement_ids:
            raise AnswerRefused("That statement is not part of this survey. Nothing was saved.")
        if value is not None and (isinstance(value, bool) or value not in q.scale_values):
            raise AnswerRefused("That answer is not one of the choices. Nothing was saved.")


@dataclass(frozen=True)
class PaperSave:
    response: Response | None
    set: int
    cleared: int
    finished: bool

    @property
    def changed(self) -> bool:
        return bool(self.set or self.cleared or self.finished)


def save_paper_answers(
    session: Session, survey_round: SurveyRound, pupil: Pupil, staff: StaffUser,
    chosen: dict[str, int | None], finish: bool, now: datetime,
) -> PaperSave:
    """Save the answers staff typed in from `pupil`'s paper form; return what changed.

    `chosen` maps statement ids to a value on the scale, or to None for "no answer"
    (an answer stored before is removed). Statements left out of `chosen` keep their
    answers. With `finish`, the response is finished and scored like an online finish.
    Refuses (AnswerRefused), writing nothing: a statement not in the questionnaire or a
    value off its scale (400), finishing with no answers at all (400), a finished
    response or a round not open yet (409).
    """
    response = response_of(session, survey_round, pupil.id)
    check_can_enter(survey_round, response, now)
    check_chosen(chosen, questionnaire_for(survey_round, response))
    before = answers_of(session, response.id) if response is not None else {}
    to_set = {item: v for item, v in chosen.items() if v is not None and before.get(item) != v}
    to_clear = sorted(item for item, v in chosen.items() if v is None and item in before)
    if finish and not (set(before) - set(to_clear)) | set(to_set):
        raise AnswerRefused("Choose at least one answer before marking the survey finished. "
                            "Nothing was saved.")
    if not (to_set or to_clear or finish):
        return PaperSave(response, 0, 0, False)
    if response is None:
        response = ensure_response(session, survey_round, pupil.id, "staff", staff, now)
    seq = sequence_now(now)
    upsert_answers(session, [
        {"response_id": response.id, "item": item, "value": value, "seq": seq, "answered_at": now}
        for item, value in to_set.items()
    ])
    if to_clear:
        session.execute(delete(Answer).where(
            Answer.response_id == response.id, Answer.item.in_(to_clear), Answer.seq < seq))
    mark_entered(response, "staff", staff, now)
    if finish:
        response.finished_at = now
        store_scores(session, response, now)
    changes = {item: [before.get(item), chosen[item]] for item in [*to_set, *to_clear]}
    record_change(session, staff, "response", response.id, "paper answers typed in", {
        "pupil_id": pupil.id, "round_id": survey_round.id, "answers": changes, "finished": finish,
    })
    session.flush()
    return PaperSave(response, len(to_set), len(to_clear), finish)
