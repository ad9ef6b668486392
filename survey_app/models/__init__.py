"""Typed SQLAlchemy 2 models, grouped by subject."""

from .people import Group, Partnership, Pupil, School, group_members
from .responses import Answer, FactorScore, Response
from .surveys import MODES, PHASES, AccessCode, QuestionnaireVersion, SurveyRound, round_groups

__all__ = [
    "MODES",
    "PHASES",
    "AccessCode",
    "Answer",
    "FactorScore",
    "Group",
    "Partnership",
    "Pupil",
    "QuestionnaireVersion",
    "Response",
    "School",
    "SurveyRound",
    "group_members",
    "round_groups",
]
