"""An authority over the staff world's three schools, its staff member, and a brokered
partnership, for the authority tests and the access matrix."""

from __future__ import annotations

from datetime import timedelta

from survey_app.authority.operations import broker_partnership, create_authority
from survey_app.db import db
from survey_app.models import StaffUser
from survey_app.models.authority import authority_staff
from tests.conftest import _password_hash


def add_authority(world) -> None:
    """Put the world's schools in an authority with a staff member (world.authority_user);
    the world's partnership is brokered from the day after its first round opened."""
    world.authority = create_authority(db.session, "Test Authority",
                                       [world.school.urn, world.school2.urn, world.other_school.urn])
    broker_partnership(db.session, world.authority, world.partnership,
                       (world.round.opens_at + timedelta(days=1)).date(),
                       supported=[world.school.urn], supporting=[world.school2.urn])
    world.authority_user = StaffUser(email="authority@example.org", name="Authority", role="authority",
                                     password_hash=_password_hash())
    db.session.add(world.authority_user)
    db.session.flush()
    db.session.execute(authority_staff.insert(), [{"staff_id": world.authority_user.id,
                                                   "authority_id": world.authority.id}])
    db.session.commit()


def fill_authority(world, main: int = 12, second: int = 8, small: int = 3):
    """Pupils in the three schools (a small one under the threshold), all in group A, who
    answer the world's round and two later rounds; returns the rounds."""
    from survey_app.models import Pupil
    from survey_app.models.upn import make_upn
    from tests.cohort_data import add_pupils, add_rounds, fill

    pupils = add_pupils(world, main)
    for school, count, la in ((world.school2, second, 202), (world.other_school, small, 302)):
        extra = [Pupil(school=school, upn=make_upn(la, 4100, 16, i + 1), first_name=f"Z{la}x{i}",
                       surname="Authorityson", year_group=7 + i % 2) for i in range(count)]
        db.session.add_all(extra)
        world.group.pupils.extend(extra)
        pupils += extra
    db.session.flush()
    rounds = add_rounds(world)
    fill(world, rounds, pupils, seed=3)
    world.authority_pupils = pupils
    return rounds
