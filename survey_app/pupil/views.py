"""Helpers the pupil routes share: which statements a screen shows, where to go next."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from ..db import db
from ..errors import error_response
from ..models import AccessCode, QuestionnaireVersion, Response
from ..questionnaires import Questionnaire
from ..questionnaires.store import cached_definition
from . import state
from .answers import GivenAnswer
from .codes import CodeCheck
from .forms import field_name
from .language import current as current_language


@dataclass(frozen=True)
class SurveyView:
    """One screen of the survey: statements [start, stop) of the questionnaire."""

    q: Questionnaire
    mode: str
    number: int
    start: int
    stop: int
    count: int

    @classmethod
    def build(cls, q: Questionnaire, mode: str, number: int) -> SurveyView | None:
        """Return the screen `number` (1-based) in `mode`, or None when there is none."""
        size = 1 if mode == "single" else q.page_size
        total = len(q.statements)
        count = -(-total // size)
        if not 1 <= number <= count:
            return None
        start = (number - 1) * size
        return cls(q, mode, number, start, min(start + size, total), count)

    @property
    def kind(self) -> str:
        return "s" if self.mode == "single" else "p"

    @property
    def is_first(self) -> bool:
        return self.number == 1

    @property
    def is_last(self) -> bool:
        return self.number == self.count

    def shows(self, index: int) -> bool:
        return self.start <= index < self.stop

    def url_for_number(self, number: int) -> str:
        return url_for("pupil.answer", kind=self.kind, number=number)

    def url_after(self, nav: str) -> str:
        """Return where a button leads: back, next, or the check before finishing."""
        if nav == "back" and not self.is_first:
            return self.url_for_number(self.number - 1)
        if nav == "back":
            return self.url_for_number(1)
        if nav == "next" and not self.is_last:
            return self.url_for_number(self.number + 1)
        return url_for("pupil.check")


def view_url(q: Questionnaire, mode: str, index: int) -> str:
    """Return the URL of the screen showing statement `index` (0-based) in `mode`."""
    size = 1 if mode == "single" else q.page_size
    kind = "s" if mode == "single" else "p"
    return url_for("pupil.answer", kind=kind, number=index // size + 1)


def first_unanswered_url(q: Questionnaire, mode: str, answers: dict[str, int]) -> str:
    """Return the screen of the first unanswered statement, or the check when all are done."""
    for index, statement in enumerate(q.statements):
        if statement.id not in answers:
            return view_url(q, mode, index)
    return url_for("pupil.check")


CODE_REFUSED = _l("That code does not open a survey just now. Check each letter and number on "
                  "your slip, or ask your teacher for help.")


def code_problem_message(check: CodeCheck) -> str:
    """Return what to tell a pupil whose code cannot be used now, in plain words.

    One message for every reason (no such code, an old code that was reissued, a survey
    finished, closed or not yet open): someone trying codes learns nothing about which
    ones exist. The pupil's teacher sees the reason on the code slips page.
    """
    return str(CODE_REFUSED)


def load_pupil_response(api: bool = False):
    """Return (response, questionnaire) for the signed-in pupil, or a response to send.

    A pupil who is not signed in, whose session went idle, or whose code has been
    reissued since signing in is sent to the start (or gets 401 from the API); a finished
    response cannot be opened again.
    """
    data = state.current()
    response, content_hash = None, None
    if data and data.get("response_id"):
        # One query: the response, its round, the questionnaire's hash (the parsed
        # definition comes from the per-process cache) and when the code was reissued.
        row = db.session.execute(
            select(Response, QuestionnaireVersion.content_hash, AccessCode.reissued_at)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.questionnaire_version_id)
            .join(AccessCode, (AccessCode.round_id == Response.round_id)
                  & (AccessCode.pupil_id == Response.pupil_id))
            .where(Response.id == data["response_id"])
            .options(joinedload(Response.round))
        ).first()
        if row is not None and state.holds_code(data, row[2]):
            response, content_hash = row[0], row[1]
        elif row is not None:
            state.sign_out()
    if response is None:
        if api:
            return error_response(401, _("You have been signed out. Sign in again with your code: "
                                         "the answers on this screen will be sent then."))
        return redirect(url_for("pupil.start"))
    if response.finished_at is not None and not api:
        state.sign_out()
        return redirect(url_for("pupil.start"))
    return response, cached_definition(db.session, response.questionnaire_version_id, content_hash)


def parse_posted_answers(
    q: Questionnaire, form, posted: MultiDict, seq: int
) -> list[GivenAnswer]:
    """Return the answers a plain form post chose, checked by the answer form.

    Refuses (400 via abort) a field that names no statement of `q`.
    """
    from flask import abort

    known = {field_name(i) for i in range(len(q.statements))} | {"csrf_token", "nav", "lang"}
    if any(key not in known for key in posted):
        abort(400, _("That statement is not part of this survey. Nothing was saved."))
    given = []
    for index, statement in enumerate(q.statements):
        field = form[field_name(index)]
        if field.raw_data and field.data is not None:
            given.append(GivenAnswer(statement.id, field.data, seq))
    return given


# Every pupil sees the same statements; only which are on screen and which answers are
# chosen differ. Rendering 50 statements costs more than everything else on the page, so
# they are rendered once per questionnaire version with markers, filled in per request.
_MARKER = re.compile("\x00([HC])(\\d+)(?:_(-?\\d+))?\x00")
_statements_cache: dict[tuple[str, str, str, str], str] = {}


def _marker(kind: str, index: int, value: int | None = None) -> Markup:
    return Markup(f"\x00{kind}{index}" + (f"_{value}" if value is not None else "") + "\x00")  # noqa: S704 (letters and integers only)


def statements_markup(q: Questionnaire, view: SurveyView, answers: dict[str, int]) -> Markup:
    """Return the HTML of every statement, with this screen's statements shown and the
    pupil's answers chosen (the rest hidden and disabled, for the script to show)."""
    # One rendering per version, language and page language (which decides the marks).
    key = (q.content_hash, q.language, current_language().page,
           hash((q.title, tuple((s.text, s.easy) for s in q.statements), q.scale)))
    html = _statements_cache.get(key)
    if html is None:
        html = render_template("pupil/_statements.html", q=q, marker=_marker)
        _statements_cache[key] = html
    statements = q.statements

    def fill(match: re.Match) -> str:
        index = int(match.group(2))
        if match.group(1) == "H":
            return "" if view.shows(index) else "hidden disabled"
        return "checked" if answers.get(statements[index].id) == int(match.group(3)) else ""

    return Markup(_MARKER.sub(fill, html))  # noqa: S704 (autoescaped by Jinja when cached)
