"""Demo data: a partnership like the one the product comes from, with plausible answers.

Five institutions, about 300 pupils in groups that mix schools and year groups, and
three rounds: before and during finished (attitudes rising a little on average), after
open with most codes unused. Deterministic (seeded) and idempotent: a second run finds
the partnership and changes nothing.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..accounts.passwords import create_user, password_problems
from ..models import (
    AccessCode,
    Answer,
    Group,
    Partnership,
    Pupil,
    PupilFlag,
    Response,
    School,
    StaffUser,
    SurveyRound,
    group_staff,
    pupil_flag_members,
)
from ..models.upn import make_upn
from ..pupil.answers import sequence_now, store_scores
from ..pupil.codes import issue_codes
from ..questionnaires import Questionnaire
from ..questionnaires.store import definition_of, sync_directory
from ..questionnaires.translations import translation_files

PARTNERSHIP = "Riverside Learning Partnership"
DEMO_ADMIN = "admin@demo.example.org"
SCHOOLS = [
    # (URN, name, year groups, local authority number, establishment number)
    ("990101", "Riverside Sports College", range(7, 12), 881, 4101),
    ("990102", "Brookfield Special School", range(7, 14), 881, 7002),
    ("990103", "Northgate Performing Arts College", range(7, 12), 881, 4102),
    ("990104", "Hollins School for Deaf Children", range(7, 12), 881, 7003),
    ("990105", "Riverside Further Education College", range(12, 14), 881, 8001),
]
PUPILS_PER_SCHOOL = 60
# The school for deaf children shares these pupils' own data with the partnership's leads
# only inside protected figures (their families asked): the partnership's aggregates then
# show how disclosure control looks.
NOT_SHARED = ("990104", 15)
MENTORED = 40  # pupils with the demo flag "Mentored", chosen among those least positive at first
MENTORED_GAIN = 0.8  # how much more mentored pupils' attitudes rise (so cohorts differ)
GROUPS = [
    "Confident Learners (Monday)",
    "Confident Learners (Thursday)",
    "Sports Leaders",
    "Performing Arts Outreach",
    "Reading Champions",
    "Transition Group",
    "Enterprise Project",
    "Young Mentors",
    "Creative Media",
    "Next Steps (FE taster)",
]
FIRST_NAMES = [
    "Aisha", "Alfie", "Amelia", "Arjun", "Ava", "Ben", "Bilal", "Chloe", "Daisy", "Daniel",
    "Ella", "Ethan", "Evie", "Farah", "Freya", "George", "Grace", "Hamza", "Harry", "Isla",
    "Isaac", "Jack", "Jade", "Jayden", "Kai", "Katie", "Leo", "Lily", "Logan", "Maya",
    "Mia", "Mohammed", "Noah", "Olivia", "Oscar", "Poppy", "Priya", "Reuben", "Riley", "Ruby",
    "Sam", "Sofia", "Tariq", "Theo", "Tyler", "Yusuf", "Zara", "Zoe", "Callum", "Niamh",
]
SURNAMES = [
    "Ahmed", "Bailey", "Begum", "Brown", "Campbell", "Clarke", "Davies", "Evans", "Fletcher",
    "Green", "Hall", "Hughes", "Hussain", "Jackson", "Jones", "Kaur", "Khan", "Lewis", "Mensah",
    "Morgan", "Murphy", "Nowak", "O'Brien", "Patel", "Price", "Roberts", "Robinson", "Shah",
    "Singh", "Smith", "Taylor", "Thomas", "Turner", "Walker", "Ward", "Watson", "White",
    "Williams", "Wilson", "Wright",
]


@dataclass
class DemoResult:
    created: bool
    schools: int
    pupils: int
    groups: int
    rounds: int
    answers: int
    open_round: SurveyRound | None
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def build_demo_data(
    session: Session,
    questionnaire_dir: str,
    now: datetime,
    progress: Callable[[str], None] = lambda message: None,
    seed: int = 2026,
) -> DemoResult:
    """Create the demo partnership unless it exists; return what is there.

    Refuses (QuestionnaireError) when a questionnaire file is invalid.
    """
    existing = session.scalar(select(Partnership).where(Partnership.name == PARTNERSHIP))
    if existing is not None:
        progress("Demo partnership already present: nothing to add.")
        result = _summary(session, existing, created=False)
        result.logins = ensure_demo_staff(session, existing, progress)
        return result

    rng = random.Random(seed)
    progress("Loading questionnaires…")
    versions = {row.key: row for row in sync_directory(session, questionnaire_dir)}
    secondary = versions["pass9-secondary"]
    q = definition_of(secondary)

    partnership = Partnership(name=PARTNERSHIP)
    session.add(partnership)
    pupils: list[Pupil] = []
    for urn, name, years, la, estab in SCHOOLS:
        school = School(urn=urn, name=name, partnership=partnership)
        session.add(school)
        for i in range(PUPILS_PER_SCHOOL):
            year = rng.choice(list(years))
            pupils.append(
                Pupil(
                    shared_with_partnership=not (urn == NOT_SHARED[0] and i < NOT_SHARED[1]),
                    school=school,
                    upn=make_upn(la, estab, (2026 - year - 4) % 100, i + 1),
                    first_name=rng.choice(FIRST_NAMES),
                    surname=rng.choice(SURNAMES),
                    year_group=year,
                    reg_group=f"{year}{rng.choice('ABCD')}",
                    gender=rng.choice(["Female", "Male"]),
                    sen=rng.choices(["N", "K", "E"], weights=[70, 22, 8])[0]
                    if "Special" not in name and "Deaf" not in name
                    else rng.choices(["K", "E"], weights=[40, 60])[0],
                    fsm=rng.random() < 0.3,
                    eal=rng.random() < 0.2,
                )
            )
        progress(f"School: {name} ({PUPILS_PER_SCHOOL} pupils"
                 + (f", {NOT_SHARED[1]} not shared with the partnership)" if urn == NOT_SHARED[0] else ")"))
    session.add_all(pupils)
    session.flush()

    groups = [Group(name=n, kind="programme", partnership_id=partnership.id) for n in GROUPS]
    shuffled = pupils[:]
    rng.shuffle(shuffled)
    for index, pupil in enumerate(shuffled):
        # Round-robin over the shuffled list mixes schools and year groups in each group.
        groups[index % len(groups)].pupils.append(pupil)
        if rng.random() < 0.15:
            groups[(index + 3) % len(groups)].pupils.append(pupil)
    session.add_all(groups)
    session.flush()
    progress(f"Groups: {len(groups)} mixing schools and year groups")

    plan = [
        ("Before the programme", "before", now - timedelta(days=150), now - timedelta(days=136), 0.0),
        ("During the programme", "during", now - timedelta(days=62), now - timedelta(days=48), 0.35),
        ("After the programme", "after", now - timedelta(days=2), now + timedelta(days=45), None),
    ]
    traits = {p.id: {f.key: rng.gauss(0.4, 0.9) for f in q.factors} for p in pupils}
    gains = {p.id: {f.key: rng.gauss(0.0, 0.35) for f in q.factors} for p in pupils}
    for pupil_id in _add_mentored_flag(session, partnership, pupils, traits, seed):
        for key in gains[pupil_id]:
            gains[pupil_id][key] += MENTORED_GAIN
    progress(f"Flag: Mentored ({MENTORED} pupils)")
    answers_written = 0
    rounds = []
    # The demo offers every shipped translation (all drafts so far), so the languages can
    # be tried at once: `/?lang=cy`, `/?lang=ur`.
    languages = [path.name.split(".")[1] for path in translation_files(questionnaire_dir, secondary.key)]
    for name, phase, opens, closes, shift in plan:
        survey_round = SurveyRound(
            name=name, phase=phase, questionnaire_version_id=secondary.id, opens_at=opens,
            closes_at=closes, mode="page", partnership_id=partnership.id,
            languages=languages, allow_draft_languages=True,
        )
        survey_round.groups = list(groups)
        session.add(survey_round)
        session.flush()
        issue_codes(session, survey_round, [p.id for p in pupils])
        rounds.append(survey_round)
        if shift is None:
            answers_written += _partial_round(session, rng, q, survey_round, pupils, traits, now)
            progress(f"Round: {name} (open; a few pupils started)")
        else:
            answers_written += _finished_round(
                session, rng, q, survey_round, pupils, traits, gains, shift
            )
            progress(f"Round: {name} (finished; answers and scores stored)")
    session.flush()
    result = _summary(session, partnership, created=True)
    result.logins = ensure_demo_staff(session, partnership, progress)
    return result


def ensure_demo_staff(
    session: Session, partnership: Partnership, progress: Callable[[str], None]
) -> list[tuple[str, str, str]]:
    """Create the demo staff unless present: an admin, a partnership lead, a teacher per group.

    Passwords are random for each installation (there is no default password anywhere);
    returns (role, email, password) for the accounts made now, [] when they existed.
    """
    if session.scalar(select(StaffUser.id).where(StaffUser.email == DEMO_ADMIN)) is not None:
        return []
    logins = []

    def make(email, role, name, **scope):
        password = secrets.token_urlsafe(12)
        while password_problems(password, email, name):  # (a random one almost never has any)
            password = secrets.token_urlsafe(12)
        user = create_user(session, email, role, password, name=name, **scope)
        logins.append((role, email, password))
        return user

    make(DEMO_ADMIN, "admin", "Demo Administrator")
    make("lead@demo.example.org", "lead", "Pat Lead (partnership lead)", partnership=partnership)
    groups = session.scalars(
        select(Group).where(Group.partnership_id == partnership.id).order_by(Group.id)
    ).all()
    first_school = session.scalar(
        select(School).where(School.partnership_id == partnership.id).order_by(School.id)
    )
    for number, group in enumerate(groups, start=1):
        teacher = make(f"teacher{number}@demo.example.org", "teacher",
                       f"Teacher of {group.name}", school=first_school)
        session.execute(group_staff.insert().values(
            group_id=group.id, staff_id=teacher.id, is_lead=True))
    session.flush()
    progress(f"Staff: 1 admin, 1 partnership lead, {len(groups)} teachers (one per group)")
    return logins


def _add_mentored_flag(session: Session, partnership: Partnership, pupils: list[Pupil],
                       traits: dict[int, dict[str, float]], seed: int) -> list[int]:
    """Add the partnership flag "Mentored" on MENTORED pupils; return their ids.

    A separate random stream, so the rest of the demo data is as it was without the flag.
    """
    rng = random.Random(seed + 1)
    by_mood = sorted(pupils, key=lambda p: sum(traits[p.id].values()))
    chosen = rng.sample(by_mood[: MENTORED * 3], MENTORED)
    flag = PupilFlag(name="Mentored", partnership_id=partnership.id,
                     description="Pupils with a learning mentor this year (demo data).")
    session.add(flag)
    session.flush()
    session.execute(insert(pupil_flag_members), [{"flag_id": flag.id, "pupil_id": p.id} for p in chosen])
    return [p.id for p in chosen]


def _summary(session: Session, partnership: Partnership, created: bool) -> DemoResult:
    school_ids = [s.id for s in partnership.schools]
    pupils = session.scalars(select(Pupil.id).where(Pupil.school_id.in_(school_ids))).all()
    groups = session.scalars(select(Group.id).where(Group.partnership_id == partnership.id)).all()
    rounds = session.scalars(
        select(SurveyRound).where(SurveyRound.partnership_id == partnership.id)
        .order_by(SurveyRound.opens_at)
    ).all()
    answers = session.scalar(
        select(func.count(Answer.id)).join(Response)
        .where(Response.round_id.in_([r.id for r in rounds]))
    )
    open_round = next((r for r in rounds if r.phase == "after"), None)
    return DemoResult(created, len(school_ids), len(pupils), len(groups), len(rounds),
                      answers or 0, open_round)


def _answer_value(rng: random.Random, level: float, reversed_: bool, values: list[int]) -> int:
    # An ordered-logistic draw: higher `level` means more agreement with positive statements.
    latent = level + rng.gauss(0, 1.0)
    if reversed_:
        latent = -latent
    ordered = sorted(values)
    thresholds = [-1.3, 0.0, 1.3] if len(ordered) == 4 else [
        -2 + 4 * (i + 1) / len(ordered) for i in range(len(ordered) - 1)
    ]
    position = sum(1 for t in thresholds if latent > t)
    return ordered[min(position, len(ordered) - 1)]


def _write_response(session, rng, q, survey_round, pupil, levels, start, finished) -> int:
    values = [o.value for o in q.scale]
    response = Response(
        round_id=survey_round.id, pupil_id=pupil.id,
        questionnaire_version_id=survey_round.questionnaire_version_id,
        started_at=start, last_activity_at=start, mode=survey_round.mode,
    )
    session.add(response)
    session.flush()
    straight = rng.random() < 0.02
    stop = len(q.statements) if finished else rng.randint(3, len(q.statements) - 3)
    rows = []
    seconds = 0
    for index, statement in enumerate(q.statements):
        if index >= stop:
            break
        if rng.random() < 0.02:
            continue  # the odd skipped statement
        seconds += rng.randint(4, 14)
        value = values[0] if straight else _answer_value(
            rng, levels[statement.factor], statement.reversed, values
        )
        at = start + timedelta(seconds=seconds)
        rows.append({"response_id": response.id, "item": statement.id, "value": value,
                     "seq": sequence_now(at), "answered_at": at})
    if rows:
        session.execute(insert(Answer), rows)
    response.seconds_spent = seconds
    response.last_activity_at = start + timedelta(seconds=seconds)
    if finished:
        response.finished_at = response.last_activity_at
        store_scores(session, response, response.finished_at)
    return len(rows)


def _finished_round(session, rng, q: Questionnaire, survey_round, pupils, traits, gains, shift):
    written = 0
    for pupil in pupils:
        if rng.random() < 0.07:
            continue  # absent that week
        trait, gain = traits[pupil.id], gains[pupil.id]
        levels = {k: trait[k] + shift * (1 + gain[k]) for k in trait}
        start = survey_round.opens_at + timedelta(days=rng.randint(0, 9), hours=rng.randint(1, 6))
        written += _write_response(session, rng, q, survey_round, pupil, levels, start, True)
    return written


def _partial_round(session, rng, q, survey_round, pupils, traits, now) -> int:
    written = 0
    for pupil in rng.sample(pupils, k=len(pupils) // 8):
        levels = {k: v + 0.5 for k, v in traits[pupil.id].items()}
        start = now - timedelta(hours=rng.randint(2, 40))
        finished = rng.random() < 0.5
        written += _write_response(session, rng, q, survey_round, pupil, levels, start, finished)
        code = session.scalar(
            select(AccessCode).where(
                AccessCode.round_id == survey_round.id, AccessCode.pupil_id == pupil.id
            )
        )
        code.first_used_at = start
    return written


def unused_codes(session: Session, survey_round: SurveyRound) -> list[dict[str, str]]:
    """Return the round's codes that no pupil has used yet, with name, year, school, groups."""
    rows = session.execute(
        select(AccessCode, Pupil, School)
        .join(Pupil, AccessCode.pupil_id == Pupil.id)
        .join(School, Pupil.school_id == School.id)
        .where(AccessCode.round_id == survey_round.id, AccessCode.first_used_at.is_(None))
        .order_by(School.name, Pupil.surname, Pupil.first_name)
    ).all()
    return [
        {
            "code": access.code,
            "first_name": pupil.first_name,
            "surname": pupil.surname,
            "year_group": str(pupil.year_group),
            "school": school.name,
            "groups": "; ".join(sorted(g.name for g in pupil.groups)),
            "round": survey_round.name,
        }
        for access, pupil, school in rows
    ]
