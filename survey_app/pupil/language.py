"""The pupil's language: chosen on any pupil page (the picker, or `?lang=CODE` in the
address), kept in the pupil's session, checked against what the pupil's round offers once
the pupil has signed in, and recorded on the response.

The statements come from the questionnaire's translation files; the page's own words
(buttons, messages, progress) from the Flask-Babel catalogs in survey_app/translations/.
A language with translated statements but no catalog yet shows English buttons around
statements marked with their own `lang`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, flash, g, has_request_context, request, session
from flask_babel import gettext
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from ..db import db
from ..models import AccessCode, Response, SurveyRound
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of
from ..questionnaires.translations import (
    CODE_PATTERN,
    SOURCE_LANGUAGE,
    LanguageName,
    Translation,
    known_languages,
    localised,
    translations_of,
    usable_languages,
)
from . import state

SESSION_KEY = "lang"
ENGLISH = LanguageName(SOURCE_LANGUAGE, "English", "ltr")
PAGE_DEFAULT = "en-GB"
CATALOGS = Path(__file__).resolve().parent.parent / "translations"
# Autosave needs no language: it is answered with ids and numbers only.
SKIP_ENDPOINTS = {"pupil.api_answers"}


@dataclass
class PupilLanguage:
    """The language of one pupil page: what the statements are in (`code`, with the
    round's translation), what the page's own words are in (`page`), and the choices."""

    code: str = SOURCE_LANGUAGE
    translation: Translation | None = None
    choices: list[LanguageName] = field(default_factory=lambda: [ENGLISH])

    @property
    def direction(self) -> str:
        if self.translation is not None:
            return self.translation.direction
        return next((c.direction for c in self.choices if c.code == self.code), "ltr")

    @property
    def has_catalog(self) -> bool:
        return self.code != SOURCE_LANGUAGE and _has_catalog(self.code)

    @property
    def page(self) -> str:
        """The page's `lang`: the chosen language where its catalog exists, else English."""
        return self.code if self.has_catalog else PAGE_DEFAULT

    @property
    def page_direction(self) -> str:
        return self.direction if self.has_catalog else "ltr"

    @property
    def locale(self) -> str:
        return self.code.replace("-", "_") if self.has_catalog else SOURCE_LANGUAGE


_catalogs: dict[str, bool] = {}


def _has_catalog(code: str) -> bool:
    found = _catalogs.get(code)
    if found is None:
        found = (CATALOGS / code.replace("-", "_") / "LC_MESSAGES" / "messages.mo").is_file()
        _catalogs[code] = found
    return found


def valid_code(code: str) -> bool:
    """Return True when `code` is shaped like a language code (whether offered or not)."""
    return code == SOURCE_LANGUAGE or bool(CODE_PATTERN.match(code))


def select_locale() -> str:
    """Flask-Babel's locale: the pupil page's language; staff pages are in English."""
    language = g.get("pupil_language")
    if language is None and has_request_context() and _pupil_side(request):
        language = _language_for_early_error()
    return language.locale if language is not None else SOURCE_LANGUAGE


def _pupil_side(req) -> bool:
    """A pupil page, or an address no page has (its "not found" page is the pupil's,
    outside the staff pages)."""
    return req.blueprint == "pupil" or (req.url_rule is None and not req.path.startswith("/staff"))


def _language_for_early_error() -> PupilLanguage | None:
    """The language of an error page for a pupil page refused before the pupil blueprint's
    own before_request ran (Flask-WTF's CSRF check, the rate limit on codes): the pupil's
    chosen language, so the page that says it expired is not in English."""
    if request.endpoint in SKIP_ENDPOINTS or g.get("pupil_language_tried"):
        return None  # (the autosave's messages: script_strings.py; a failed prepare: English)
    try:
        prepare()
    except SQLAlchemyError:  # the database is what failed: the error page in English
        db.session.rollback()
        return None
    return g.get("pupil_language")


def current() -> PupilLanguage:
    """Return this request's pupil language (English outside the pupil pages)."""
    return g.get("pupil_language") or PupilLanguage()


def localise(q: Questionnaire) -> Questionnaire:
    """Return `q` in this page's language (itself in English)."""
    language = current()
    if language.translation is None or language.translation.instrument != q.key:
        return q
    return localised(q, language.translation)


def round_translations(survey_round: SurveyRound) -> tuple[Questionnaire, dict[str, Translation]]:
    """Return the round's questionnaire and the translations its pupils may use."""
    q = definition_of(survey_round.questionnaire)
    found = translations_of(current_app.config["QUESTIONNAIRE_DIR"], q)
    return q, usable_languages(found, survey_round.languages or [],
                               survey_round.allow_draft_languages)


def _signed_in_round(data: dict | None) -> SurveyRound | None:
    """The round of the signed-in pupil, or of the finished response whose "My results"
    this browser shows; None before sign-in."""
    code_id = data.get("code_id") if data else None
    if isinstance(code_id, int):
        access = db.session.get(AccessCode, code_id)
        return access.round if access is not None else None
    response_id = state.results_response_id() if data is None else None
    response = db.session.get(Response, response_id) if response_id is not None else None
    return response.round if response is not None else None


def prepare() -> None:
    """Before each pupil page: apply a `?lang=` switch, then work out the page's language.

    A switch to a language the pupil's round does not offer (or offers only as a draft it
    does not allow) is refused with a message, and nothing is changed.
    """
    if request.endpoint in SKIP_ENDPOINTS:
        return
    g.pupil_language_tried = True
    data = state.current()
    survey_round = _signed_in_round(data)
    translations: dict[str, Translation] = {}
    if survey_round is not None:
        _, translations = round_translations(survey_round)
        offered = {code: LanguageName(code, tr.language_name, tr.direction)
                   for code, tr in translations.items()}
    else:
        offered = known_languages(current_app.config["QUESTIONNAIRE_DIR"])
    code = session.get(SESSION_KEY, SOURCE_LANGUAGE)
    if code not in offered:
        code = SOURCE_LANGUAGE
    choices = [ENGLISH, *offered.values()]
    g.pupil_language = PupilLanguage(code, translations.get(code), choices)
    asked = request.args.get("lang")
    if asked is not None and asked != code and switch(asked, offered, data):
        g.pupil_language = PupilLanguage(asked, translations.get(asked), choices)


def switch(asked: str, offered: dict[str, LanguageName], data: dict | None) -> bool:
    """Keep `asked` as the pupil's language (and on their response) when it is offered;
    return False (with a message for the pupil, nothing changed) when it is not."""
    if asked != SOURCE_LANGUAGE and asked not in offered:
        flash(gettext("This survey is not available in that language yet, so it has not "
                      "changed. Ask your teacher if you need help."), "warning")
        return False
    session[SESSION_KEY] = asked
    response_id = data.get("response_id") if data else None
    if isinstance(response_id, int):
        record_language(response_id, asked)
        db.session.commit()
    return True


def record_language(response_id: int, code: str) -> None:
    """Record on an unfinished response the language the pupil is answering in."""
    db.session.execute(
        update(Response)
        .where(Response.id == response_id, Response.finished_at.is_(None), Response.language != code)
        .values(language=code)
    )


def closing_of(q: Questionnaire, code: object) -> Questionnaire:
    """Return `q` in the language `code` the pupil finished in, for its closing words."""
    if not isinstance(code, str) or code == SOURCE_LANGUAGE:
        return q
    tr = translations_of(current_app.config["QUESTIONNAIRE_DIR"], q).get(code)
    return localised(q, tr) if tr is not None else q
