"""What a staff member can choose from when selecting a cohort (all inside their scope)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..models import Group, PupilFlag, Response, School, SurveyRound  # noqa: F401 (types of the fields)
from ..questionnaires.translations import language_label


@dataclass(frozen=True)
class SelectionOptions:
    rounds: list[SurveyRound]
    schools: list[School]
    groups: list[Group]
    year_groups: list[int]
    genders: list[str]
    flags: list[PupilFlag]
    # (code, name) of each language some response of these rounds was given in
    languages: list[tuple[str, str]] = field(default_factory=list)


def selection_options(session: Session, scope: Scope) -> SelectionOptions:
    """Return the rounds, schools, groups, year groups, genders and flags the user may pick."""
    rounds = list(session.scalars(
        select(SurveyRound).where(scope.round_condition()).order_by(SurveyRound.opens_at, SurveyRound.id)
    ))
    pupils = scope.pupils().subquery()
    years = session.scalars(select(pupils.c.year_group).distinct().order_by(pupils.c.year_group)).all()
    genders = session.scalars(
        select(pupils.c.gender).where(pupils.c.gender.is_not(None), pupils.c.gender != "")
        .distinct().order_by(pupils.c.gender)
    ).all()
    return SelectionOptions(
        rounds=rounds,
        schools=list(session.scalars(scope.schools())),
        groups=list(session.scalars(scope.groups())),
        year_groups=list(years),
        genders=list(genders),
        flags=list(session.scalars(scope.flags())),
        languages=[(code, language_label(code)) for code in session.scalars(
            select(Response.language).where(Response.round_id.in_([r.id for r in rounds]))
            .distinct().order_by(Response.language))],
    )
