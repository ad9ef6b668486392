"""Access codes: making them, reading what a pupil typed, and checking them.

A code is 8 characters from a 31-symbol alphabet with no look-alikes (no 0/O, 1/I/L):
31**8 is about 8.5e11 codes, 39.6 bits, drawn with `secrets`. Guessing is held back by
the per-address limit on failed codes, not by length alone.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import AccessCode, Pupil, Response, SurveyRound
from ..models.reviews import Withdrawal

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_BITS = CODE_LENGTH * math.log2(len(ALPHABET))
_SEPARATORS = re.compile(r"[\s\-_.]+")


def generate_code() -> str:
    """Return a fresh random code (not yet checked for uniqueness)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str | None:
    """Return the code a pupil meant, or None when it cannot be a code.

    Accepts any case, spaces and dashes ('abcd-efgh', ' AB CD EF GH ').
    """
    if not isinstance(typed, str) or len(typed) > 40:
        return None
    code = _SEPARATORS.sub("", typed).upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def format_code(code: str) -> str:
    """Return a code as printed on a slip: two groups of four ('ABCD-EFGH')."""
    return f"{code[:4]}-{code[4:]}"


def unique_codes(session: Session, count: int) -> list[str]:
    """Return `count` new codes that no access code uses yet."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = {generate_code() for _ in range(count - len(codes))}
        taken = set(session.scalars(select(AccessCode.code).where(AccessCode.code.in_(wanted))))
        codes |= wanted - taken
    return list(codes)


def issue_codes(session: Session, survey_round: SurveyRound, pupil_ids: list[int]) -> int:
    """Give each listed pupil a code for the round unless they have one or were withdrawn
    from the survey by their family; return how many."""
    have = set(
        session.scalars(
            select(AccessCode.pupil_id).where(AccessCode.round_id == survey_round.id)
        )
    )
    have |= set(session.scalars(select(Withdrawal.pupil_id).where(Withdrawal.pupil_id.in_(pupil_ids))))
    missing = [pid for pid in dict.fromkeys(pupil_ids) if pid not in have]
    for pupil_id, code in zip(missing, unique_codes(session, len(missing)), strict=True):
        session.add(AccessCode(code=code, round_id=survey_round.id, pupil_id=pupil_id))
    session.flush()
    return len(missing)


@dataclass(frozen=True)
class CodeCheck:
    """What a typed code leads to. `problem` is None when the pupil may go on."""

    access_code: AccessCode | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_code(session: Session, typed: str, now: datetime) -> CodeCheck:
    """Return whether `typed` opens a survey now, and if not, why in the pupil's terms.

    Problems: 'unknown' (no such code; never says more), 'not_open', 'closed', 'finished'.
    """
    code = normalise_code(typed)
    if code is None:
        return CodeCheck(None, "unknown")
    access = session.scalar(
        select(AccessCode)
        .where(AccessCode.code == code)
        .options(joinedload(AccessCode.pupil).joinedload(Pupil.school), joinedload(AccessCode.round))
    )
    if access is None or access.pupil.archived or session.scalar(
            select(Withdrawal.id).where(Withdrawal.pupil_id == access.pupil_id)) is not None:
        return CodeCheck(None, "unknown")
    state = access.round.state(now)
    if state == "scheduled":
        return CodeCheck(access, "not_open")
    finished = session.scalar(
        select(Response.finished_at).where(
            Response.round_id == access.round_id, Response.pupil_id == access.pupil_id
        )
    )
    if finished is not None:
        return CodeCheck(access, "finished")
    if state == "closed":
        return CodeCheck(access, "closed")
    return CodeCheck(access, None)


def issue_codes_for_group(session: Session, group_id: int, now: datetime) -> int:
    """Give every pupil of a group a code for each round of the group not yet closed.

    Called whenever pupils join a group, so a pupil added mid-round can sign in.
    Returns how many codes were made.
    """
    from ..models import group_members, round_groups

    rounds = session.scalars(
        select(SurveyRound)
        .join(round_groups, round_groups.c.round_id == SurveyRound.id)
        .where(round_groups.c.group_id == group_id, SurveyRound.closes_at > now)
    ).all()
    pupil_ids = list(session.scalars(
        select(group_members.c.pupil_id).where(group_members.c.group_id == group_id)
    ))
    return sum(issue_codes(session, r, pupil_ids) for r in rounds)


def round_pupil_ids(session: Session, survey_round: SurveyRound) -> list[int]:
    """Return the ids of the pupils (not archived, not withdrawn) in any group of the round."""
    from ..models import group_members, round_groups

    return list(session.scalars(
        select(Pupil.id)
        .join(group_members, group_members.c.pupil_id == Pupil.id)
        .join(round_groups, round_groups.c.group_id == group_members.c.group_id)
        .where(round_groups.c.round_id == survey_round.id, Pupil.archived.is_(False),
               Pupil.id.not_in(select(Withdrawal.pupil_id)))
        .distinct()
    ))
