"""Typed SQLAlchemy 2 models, grouped by subject."""

from . import reviews  # noqa: F401  (pupils and families: registers the tables)
from .audit import ChangeLog, PendingImport
from .authority import Authority, BrokeredPartnership, NormCell, NormTable, PartnershipPairing  # noqa: F401
from .cohorts import PupilFlag, pupil_flag_members
from .jobs import Job
from .media import MediaFile
from .people import Group, Partnership, Pupil, School, group_members
from .profiles import SUPPORT_KINDS, AuditEvent, RoundFactorStats, SupportEntry
from .responses import FACTOR_SLOTS, Answer, FactorScore, Response, ResponseScores
from .sso import SignInPolicy, SsoProvider
from .staff import ROLES, PasswordReset, StaffUser, group_staff
from .surveys import MODES, PHASES, AccessCode, QuestionnaireVersion, SurveyRound, round_groups
from .tracking import AttainmentResult, AttendancePeriod, Intervention, InterventionNote, PatternThreshold

__all__ = [
    "Job",
    "MediaFile",
    "PupilFlag",
    "pupil_flag_members",
    "MODES",
    "PHASES",
    "ROLES",
    "SUPPORT_KINDS",
    "AuditEvent",
    "RoundFactorStats",
    "SupportEntry",
    "AccessCode",
    "ChangeLog",
    "PasswordReset",
    "PendingImport",
    "StaffUser",
    "group_staff",
    "Answer",
    "FactorScore",
    "FACTOR_SLOTS",
    "ResponseScores",
    "Group",
    "Partnership",
    "Pupil",
    "QuestionnaireVersion",
    "Response",
    "School",
    "SurveyRound",
    "group_members",
    "round_groups",
    "SignInPolicy",
    "SsoProvider",
    "AttainmentResult",
    "AttendancePeriod",
    "Intervention",
    "InterventionNote",
    "PatternThreshold",
]
