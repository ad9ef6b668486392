"""What the authority's pages read: its schools and rounds, and the database's sums over
them (participation, per-school score moments, paired changes), every sum with the count
and cell-key sum of the pupils in it (all of them: authority viewers see no pupil one by
one, so every figure is protected, privacy.disclosure) and every score with its offset.

A protected pupil's score without a stored offset is left out (NULL), never counted exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select, union
from sqlalchemy.orm import Session

from ..models import AccessCode, Pupil, Response, ResponseScores, School, StaffUser, SurveyRound, round_groups
from ..models.authority import Authority, BrokeredPartnership, authority_schools, authority_staff
from ..models.people import group_members
from ..models.responses import offset_column, slot
from ..privacy.disclosure import Protection
from ..privacy.keys import CELL_KEY_MODULUS
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of

SCORES = ResponseScores.__table__


class AuthorityError(ValueError):
    """A selection the dashboard cannot show, in words for the page."""


def authority_for(session: Session, user: StaffUser, authority_id: int | None = None) -> Authority | None:
    """Return the authority `user` looks at: an authority member's own; for an admin the
    one asked for (else the first by name). None when there is none to see."""
    if user.role == "authority":
        return session.scalar(select(Authority).join(authority_staff, authority_staff.c.authority_id == Authority.id)
                              .where(authority_staff.c.staff_id == user.id))
    if user.role != "admin":
        return None
    if authority_id is not None:
        return session.get(Authority, authority_id)
    return session.scalar(select(Authority).order_by(Authority.name).limit(1))


def all_authorities(session: Session) -> list[Authority]:
    return list(session.scalars(select(Authority).order_by(Authority.name)))


def school_ids_of(authority: Authority):
    """A SELECT of the ids of the authority's schools."""
    return select(authority_schools.c.school_id).where(authority_schools.c.authority_id == authority.id)


def schools_of(session: Session, authority: Authority) -> list[School]:
    return list(session.scalars(select(School).where(School.id.in_(school_ids_of(authority))).order_by(School.name)))


def rounds_of(session: Session, authority: Authority) -> list[SurveyRound]:
    """Return the rounds of the authority's schools and of partnerships holding them, oldest first."""
    schools = school_ids_of(authority)
    partnerships = select(School.partnership_id).where(School.id.in_(schools), School.partnership_id.is_not(None))
    return list(session.scalars(
        select(SurveyRound).where((SurveyRound.school_id.in_(schools)) | (SurveyRound.partnership_id.in_(partnerships)))
        .order_by(SurveyRound.opens_at, SurveyRound.id)))


def brokered_of(session: Session, authority: Authority) -> list[BrokeredPartnership]:
    return list(session.scalars(select(BrokeredPartnership).where(BrokeredPartnership.authority_id == authority.id)
                                .order_by(BrokeredPartnership.started_on)))


def protection_of(count, key) -> Protection:
    return Protection(int(count or 0), int(key or 0) % CELL_KEY_MODULUS)


# ----- participation ----------------------------------------------------------------------

@dataclass(frozen=True)
class Participation:
    round_id: int
    school_id: int
    invited: int
    invited_protection: Protection
    finished: int
    finished_protection: Protection


def participation(session: Session, authority: Authority, round_ids: Sequence[int]) -> list[Participation]:
    """Return, per round and school, the pupils invited (in the round's groups or given a
    code) and those who finished, with their protections. One query."""
    if not round_ids:
        return []
    by_group = (select(round_groups.c.round_id, group_members.c.pupil_id)
                .join(group_members, group_members.c.group_id == round_groups.c.group_id)
                .where(round_groups.c.round_id.in_(round_ids)))
    by_code = select(AccessCode.round_id, AccessCode.pupil_id).where(AccessCode.round_id.in_(round_ids))
    invited = union(by_group, by_code).subquery("invited")
    schools = school_ids_of(authority)
    # Two grouped passes: those invited (codes and the round's groups, each pupil once), and
    # those who finished (every finished response's pupil was invited).
    asked = session.execute(
        select(invited.c.round_id, Pupil.school_id, func.count(), func.sum(Pupil.cell_key))
        .select_from(invited).join(Pupil, Pupil.id == invited.c.pupil_id)
        .where(Pupil.school_id.in_(schools)).group_by(invited.c.round_id, Pupil.school_id)).all()
    done = {(r[0], r[1]): (int(r[2]), r[3]) for r in session.execute(
        select(Response.round_id, Pupil.school_id, func.count(), func.sum(Pupil.cell_key))
        .select_from(Response).join(Pupil, Pupil.id == Response.pupil_id)
        .where(Response.round_id.in_(round_ids), Response.finished_at.is_not(None), Pupil.school_id.in_(schools))
        .group_by(Response.round_id, Pupil.school_id))}
    out = []
    for round_id, school_id, n, key in asked:
        finished, finished_key = done.get((round_id, school_id), (0, 0))
        out.append(Participation(round_id, school_id, int(n), protection_of(n, key), finished,
                                 protection_of(finished, finished_key)))
    return out


# ----- score moments per school -----------------------------------------------------------

@dataclass(frozen=True)
class SchoolMoments:
    """The sums of adjusted scores of one factor over a school's pupils (one value a pupil)."""

    school_id: int
    factor: str
    n: int
    total: float
    total_sq: float
    protection: Protection


def questionnaire_of(rounds: Sequence[SurveyRound]) -> Questionnaire:
    """Return the one factor layout the rounds share; refuses (AuthorityError) a mixture."""
    if not rounds:
        raise AuthorityError("Choose at least one round.")
    first = definition_of(rounds[0].questionnaire)
    keys = [f.key for f in first.factors]
    for r in rounds[1:]:
        if [f.key for f in definition_of(r.questionnaire).factors] != keys:
            raise AuthorityError("The rounds chosen use questionnaires with different factors: "
                                 "choose rounds of one questionnaire.")
    return first


def _pupil_scores(q: Questionnaire, round_ids: Sequence[int], school_ids, name: str):
    """A subquery: one row per pupil of the rounds, each factor's adjusted score averaged
    over the pupil's responses in those rounds (a pupil in two of them counts once)."""
    single = len(round_ids) == 1  # one row a pupil already (one response a pupil a round)
    columns = []
    for position, factor in enumerate(q.factors, start=1):
        score, _band, _code = slot(position)
        value = score + offset_column(position)
        columns.append((value if single else func.avg(value)).label(factor.key))
    stmt = (select(SCORES.c.pupil_id, Pupil.school_id, Pupil.year_group, Pupil.cell_key, *columns)
            .select_from(SCORES).join(Pupil, Pupil.id == SCORES.c.pupil_id)
            .where(SCORES.c.round_id.in_(round_ids), Pupil.school_id.in_(school_ids)))
    if not single:
        stmt = stmt.group_by(SCORES.c.pupil_id, Pupil.school_id, Pupil.year_group, Pupil.cell_key)
    return stmt.subquery(name)


def school_moments(session: Session, authority: Authority, rounds: Sequence[SurveyRound]) -> list[SchoolMoments]:
    """Return each school's sums of adjusted scores per factor over the rounds. One query."""
    q = questionnaire_of(rounds)
    per = _pupil_scores(q, [r.id for r in rounds], school_ids_of(authority), "per_pupil")
    columns = []
    for factor in q.factors:
        v = per.c[factor.key]
        columns += [func.count(v), func.sum(v), func.sum(v * v),
                    func.sum(case((v.is_not(None), per.c.cell_key), else_=0))]
    rows = session.execute(select(per.c.school_id, *columns).group_by(per.c.school_id)).all()
    out = []
    for row in rows:
        for i, factor in enumerate(q.factors):
            n, total, total_sq, key = row[1 + 4 * i:5 + 4 * i]
            if n:
                out.append(SchoolMoments(row[0], factor.key, int(n), float(total or 0), float(total_sq or 0),
                                         protection_of(n, key)))
    return out


def paired_moments(session: Session, authority: Authority, before: Sequence[SurveyRound],
                   after: Sequence[SurveyRound]) -> list[SchoolMoments]:
    """Return each school's sums of paired changes (after - before, adjusted scores) per
    factor, over the pupils present in both sets of rounds. One query."""
    q = questionnaire_of([*before, *after])
    schools = school_ids_of(authority)
    if len(before) == 1 and len(after) == 1:
        rows = _paired_rounds(session, q, before[0].id, after[0].id, schools)
    else:
        a = _pupil_scores(q, [r.id for r in before], schools, "before_scores")
        b = _pupil_scores(q, [r.id for r in after], schools, "after_scores")
        columns = []
        for factor in q.factors:
            d = b.c[factor.key] - a.c[factor.key]
            columns += [func.count(d), func.sum(d), func.sum(d * d),
                        func.sum(case((d.is_not(None), b.c.cell_key), else_=0))]
        # The pupil's school now (b) is the one the change is shown under.
        rows = session.execute(select(b.c.school_id, *columns).select_from(b)
                               .join(a, a.c.pupil_id == b.c.pupil_id).group_by(b.c.school_id)).all()
    out = []
    for row in rows:
        for i, factor in enumerate(q.factors):
            n, total, total_sq, key = row[1 + 4 * i:5 + 4 * i]
            if n:
                out.append(SchoolMoments(row[0], factor.key, int(n), float(total or 0), float(total_sq or 0),
                                         protection_of(n, key)))
    return out


def _paired_rounds(session: Session, q: Questionnaire, before_id: int, after_id: int, schools) -> list:
    """The paired sums of two single rounds, in one pass: one row a pupil in each round, so
    the two rows join directly (no per-pupil grouping for the planner to misjudge)."""
    a, b = SCORES.alias("a"), SCORES.alias("b")
    columns = []
    for position, _factor in enumerate(q.factors, start=1):
        d = ((b.c[f"score_{position}"] + b.c[f"offset_{position}"])
             - (a.c[f"score_{position}"] + a.c[f"offset_{position}"]))
        columns += [func.count(d), func.sum(d), func.sum(d * d),
                    func.sum(case((d.is_not(None), Pupil.cell_key), else_=0))]
    return session.execute(
        select(Pupil.school_id, *columns).select_from(b).join(a, a.c.pupil_id == b.c.pupil_id)
        .join(Pupil, Pupil.id == b.c.pupil_id)
        .where(a.c.round_id == before_id, b.c.round_id == after_id, Pupil.school_id.in_(schools))
        .group_by(Pupil.school_id)).all()


def reference_scores(session: Session, q: Questionnaire, round_ids: Sequence[int], school_ids) -> dict:
    """Return {(factor, year group): [score, ...]} of the pupils of the rounds (true scores,
    one a pupil: the mean of their responses there), for local norms (a job, not a page)."""
    columns = []
    for position, factor in enumerate(q.factors, start=1):
        score, _band, _code = slot(position)
        columns.append(func.avg(score).label(factor.key))
    rows = session.execute(
        select(Pupil.year_group, *columns).select_from(SCORES).join(Pupil, Pupil.id == SCORES.c.pupil_id)
        .where(SCORES.c.round_id.in_(round_ids), Pupil.school_id.in_(school_ids))
        .group_by(SCORES.c.pupil_id, Pupil.year_group)).all()
    out: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        for i, factor in enumerate(q.factors, start=1):
            if row[i] is not None:
                out.setdefault((factor.key, row[0]), []).append(float(row[i]))
    return out


def school_round_moments(session: Session, q: Questionnaire, factor: str, round_ids: Sequence[int],
                         school_ids: Sequence[int]) -> dict[tuple[int, int], SchoolMoments]:
    """Return {(round id, school id): sums of adjusted scores of `factor`} for those rounds
    and schools (one response a pupil a round). One query."""
    position = [f.key for f in q.factors].index(factor) + 1
    score, _band, _code = slot(position)
    v = score + offset_column(position)
    rows = session.execute(
        select(SCORES.c.round_id, Pupil.school_id, func.count(v), func.sum(v), func.sum(v * v),
               func.sum(case((v.is_not(None), Pupil.cell_key), else_=0)))
        .select_from(SCORES).join(Pupil, Pupil.id == SCORES.c.pupil_id)
        .where(SCORES.c.round_id.in_(round_ids), Pupil.school_id.in_(school_ids))
        .group_by(SCORES.c.round_id, Pupil.school_id)).all()
    return {(r[0], r[1]): SchoolMoments(r[1], factor, int(r[2]), float(r[3] or 0), float(r[4] or 0),
                                        protection_of(r[2], r[5]))
            for r in rows if r[2]}


# ----- the administrator's pages ----------------------------------------------------------

@dataclass(frozen=True)
class AuthorityRow:
    authority: Authority
    schools: int
    brokered: int
    staff: int


def authority_rows(session: Session) -> list[AuthorityRow]:
    """Return every authority by name with its counts of schools, brokered partnerships and staff."""
    def counts(column, table) -> dict[int, int]:
        return dict(session.execute(select(column, func.count()).select_from(table).group_by(column)).all())

    schools = counts(authority_schools.c.authority_id, authority_schools)
    brokered = counts(BrokeredPartnership.authority_id, BrokeredPartnership)
    staff = counts(authority_staff.c.authority_id, authority_staff)
    return [AuthorityRow(a, schools.get(a.id, 0), brokered.get(a.id, 0), staff.get(a.id, 0))
            for a in all_authorities(session)]


def staff_of(session: Session, authority: Authority) -> list[StaffUser]:
    """Return the authority's staff accounts by email."""
    return list(session.scalars(select(StaffUser).join(authority_staff, authority_staff.c.staff_id == StaffUser.id)
                                .where(authority_staff.c.authority_id == authority.id).order_by(StaffUser.email)))


def all_schools(session: Session) -> list[School]:
    """Return every school by name (the choices of the administrator's forms)."""
    return list(session.scalars(select(School).order_by(School.name, School.urn)))
