"""The conversation sheet for the tutor and the one-page family summary, as plain data.

Both read the pupil's learning profile (profiles.queries) and lead with the pupil's
strengths (scoring.strengths). The sheet, for staff, shows the change since the last
round with its reliable-change verdict; the family summary uses the questionnaire's
family wording only: no score, no band, no other pupil. A family summary can be in a
language the pupil's latest round offers (its family texts from the questionnaire's
translation; the page's own words are the caller's, through the catalogs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..models import Pupil, StaffUser, group_members, group_staff
from ..models.reviews import PupilHope, RoundReviewSettings, Target
from ..profiles.queries import LearningProfile, learning_profile
from ..questionnaires import Factor, Questionnaire
from ..questionnaires.translations import SOURCE_LANGUAGE, Translation, localised, translations_of, usable_languages
from ..scoring.change import ReliableChange, reliable_change
from ..scoring.strengths import read_scores
from ..tracking.queries import PupilStanding, pupil_standing
from .queries import targets_of


@dataclass(frozen=True)
class TalkingPoint:
    factor: Factor
    questions: tuple[str, ...]
    ideas: tuple[str, ...]


@dataclass(frozen=True)
class FactorChange:
    factor: Factor
    before: float | None
    after: float | None
    change: ReliableChange | None


@dataclass
class ConversationSheet:
    pupil: Pupil
    round_name: str | None
    previous_round_name: str | None
    strengths: list[Factor] = field(default_factory=list)
    talking_points: list[TalkingPoint] = field(default_factory=list)
    changes: list[FactorChange] = field(default_factory=list)
    hope: PupilHope | None = None
    targets: list[Target] = field(default_factory=list)
    # Attainment against target and attendance, where the school imported them.
    standing: PupilStanding | None = None


class LanguageNotOffered(ValueError):
    """A family summary was asked for in a language the pupil's latest round does not offer."""


@dataclass
class FamilySummary:
    pupil: Pupil
    school_name: str
    good_about: list[str] = field(default_factory=list)
    working_on: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    help_at_home: list[str] = field(default_factory=list)
    # The round's family contact as staff wrote it; without one, the pupil's tutors.
    contact: str = ""
    tutors: list[str] = field(default_factory=list)
    language: str = SOURCE_LANGUAGE
    translation: Translation | None = None
    # The translations the pupil's latest round offers (by code), English not among them.
    languages: dict[str, Translation] = field(default_factory=dict)

    @property
    def direction(self) -> str:
        return self.translation.direction if self.translation is not None else "ltr"


def _latest_two(profile: LearningProfile):
    finished = profile.finished_rounds
    latest = finished[-1] if finished else None
    previous = finished[-2] if len(finished) > 1 else None
    return latest, previous


def _reading(profile: LearningProfile, questionnaire: Questionnaire | None = None):
    latest, _ = _latest_two(profile)
    if latest is None:
        return None, None
    scores = {k: (s.score, s.band) for k, s in latest.scores.items()}
    return latest, read_scores(questionnaire or latest.questionnaire, scores)


def conversation_sheet(session: Session, pupil: Pupil, now: datetime, scope: Scope | None = None,
                       threshold: int = 5) -> ConversationSheet:
    """Return the tutor's conversation sheet for `pupil` (the caller has checked scope)."""
    profile = learning_profile(session, pupil, now, scope, threshold)
    latest, reading = _reading(profile)
    _, previous = _latest_two(profile)
    sheet = ConversationSheet(pupil, latest.round.name if latest else None,
                              previous.round.name if previous else None, targets=targets_of(session, pupil.id),
                              standing=pupil_standing(session, pupil))
    if latest is None:
        return sheet
    sheet.strengths = list(reading.strengths)
    sheet.talking_points = [TalkingPoint(f, f.invitations, f.ideas[:3]) for f in reading.focus]
    bases = {row.factor.key: row.basis for row in profile.factors}
    for f in latest.questionnaire.factors:
        after = latest.scores.get(f.key)
        before = previous.scores.get(f.key) if previous else None
        a = after.score if after else None
        b = before.score if before else None
        basis = bases.get(f.key)
        change = (reliable_change(b, a, basis.sd, basis.alpha)
                  if a is not None and b is not None and basis is not None else None)
        sheet.changes.append(FactorChange(f, b, a, change))
    sheet.hope = session.scalar(select(PupilHope).where(PupilHope.pupil_id == pupil.id)
                                .order_by(PupilHope.updated_at.desc()).limit(1))
    return sheet


def family_summary(session: Session, pupil: Pupil, now: datetime, language: str = SOURCE_LANGUAGE,
                   questionnaire_dir: str | Path | None = None) -> FamilySummary:
    """Return the one-page summary for the pupil's family: the questionnaire's family
    wording for their strengths and the factors they are working on, the targets still
    open, and who to contact (the round's family contact, else the pupil's tutors).

    With `questionnaire_dir`, the summary lists the translations the pupil's latest
    finished round offers (its `languages`, drafts only when it allows them), and
    `language` (one of them) gives the family texts from that translation. Refuses
    (LanguageNotOffered) any other language than English or one of those.
    """
    profile = learning_profile(session, pupil, now)
    latest, _ = _latest_two(profile)
    offered: dict[str, Translation] = {}
    if latest is not None and questionnaire_dir is not None:
        offered = usable_languages(translations_of(questionnaire_dir, latest.questionnaire),
                                   latest.round.languages or [], latest.round.allow_draft_languages)
    if language != SOURCE_LANGUAGE and language not in offered:
        raise LanguageNotOffered(language)
    translation = offered.get(language)
    latest, reading = _reading(profile, localised(latest.questionnaire, translation) if translation else None)
    summary = FamilySummary(pupil, pupil.school.name,
                            targets=[t for t in targets_of(session, pupil.id) if t.outcome is None],
                            language=language, translation=translation, languages=offered)
    if latest is not None:
        summary.good_about = [f.family_strength for f in reading.strengths if f.family_strength]
        summary.working_on = [f.family_focus for f in reading.focus if f.family_focus]
        summary.help_at_home = [f.family_help[0] for f in reading.focus if f.family_help]
        settings = session.get(RoundReviewSettings, latest.round.id)
        summary.contact = (settings.family_contact or "") if settings else ""
    if not summary.contact:
        summary.tutors = list(session.scalars(
            select(StaffUser.name).join(group_staff, group_staff.c.staff_id == StaffUser.id)
            .join(group_members, group_members.c.group_id == group_staff.c.group_id)
            .where(group_members.c.pupil_id == pupil.id, StaffUser.active.is_(True)).distinct()
            .order_by(StaffUser.name)).all())
    return summary


def family_summary_or_english(session: Session, pupil: Pupil, now: datetime, language: str,
                              questionnaire_dir: str | Path) -> FamilySummary:
    """Return the pupil's family summary in `language` when their latest round offers it,
    else in English (a group's batch: each pupil's round decides). Never refuses."""
    try:
        return family_summary(session, pupil, now, language, questionnaire_dir)
    except LanguageNotOffered:
        return family_summary(session, pupil, now, SOURCE_LANGUAGE, questionnaire_dir)
