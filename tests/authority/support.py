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
