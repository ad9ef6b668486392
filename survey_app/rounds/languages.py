"""Which languages a round offers its pupils, and whether unreviewed (draft) translations
may be used: the reads its page shows and the one write that changes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import StaffUser, SurveyRound
from ..questionnaires.store import definition_of
from ..questionnaires.translations import Translation, language_label, translations_of
from .operations import RoundError


def available_translations(directory: str, survey_round: SurveyRound) -> dict[str, Translation]:
    """Return {language: translation} of the round's questionnaire version, by English name."""
    found = translations_of(directory, definition_of(survey_round.questionnaire))
    return dict(sorted(found.items(), key=lambda item: language_label(item[0])))


def set_round_languages(
    session: Session, staff: StaffUser | None, survey_round: SurveyRound,
    available: dict[str, Translation], languages: list[str], allow_drafts: bool,
) -> dict:
    """Set the languages the round offers besides English; return the changes made.

    Refuses (RoundError, nothing changed) a language with no translation of the round's
    questionnaire version, or a draft when drafts are not allowed.
    """
    problems = []
    for code in languages:
        tr = available.get(code)
        if tr is None:
            problems.append(f"There is no translation into {code!r} of this round's questionnaire.")
        elif tr.is_draft and not allow_drafts:
            problems.append(f"The {tr.language_name} translation is a draft nobody has reviewed "
                            "yet: allow drafts, or leave it out.")
    if problems:
        raise RoundError({"languages": " ".join(problems)})
    chosen = [code for code in available if code in set(languages)]
    changes = {}
    if list(survey_round.languages or []) != chosen:
        changes["languages"] = [list(survey_round.languages or []), chosen]
        survey_round.languages = chosen
    if survey_round.allow_draft_languages != allow_drafts:
        changes["allow_draft_languages"] = [survey_round.allow_draft_languages, allow_drafts]
        survey_round.allow_draft_languages = allow_drafts
    if changes:
        record_change(session, staff, "round", survey_round.id, "languages", changes)
    return changes
