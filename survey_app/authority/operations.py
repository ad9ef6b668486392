"""The authority area's writes: authorities, their schools and staff, brokered
partnerships, and the audit record of an export. Each takes explicit arguments, owns
its transaction's content (the caller commits) and writes one audit record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..audit.log import record_event, record_export
from ..models import Partnership, School, StaffUser
from ..models.authority import (
    PAIRING_ROLES,
    Authority,
    BrokeredPartnership,
    PartnershipPairing,
    authority_schools,
    authority_staff,
)


class AuthorityError(ValueError):
    """A change that cannot be made, in words."""


def create_authority(session: Session, name: str, school_urns: Sequence[str]) -> Authority:
    """Create an authority holding the schools with these URNs (a school leaves any other
    authority). Refuses an empty or taken name, or an unknown URN. Does not commit."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise AuthorityError("An authority needs a name of 1 to 200 characters.")
    if session.scalar(select(Authority.id).where(Authority.name == name)) is not None:
        raise AuthorityError(f"There is already an authority called {name}.")
    schools = _schools(session, school_urns)
    authority = Authority(name=name)
    session.add(authority)
    session.flush()
    add_schools(session, authority, schools)
    record_event(session, None, "authority created", authority=name, schools=[s.urn for s in schools])
    return authority


def _schools(session: Session, urns: Sequence[str]) -> list[School]:
    found = {s.urn: s for s in session.scalars(select(School).where(School.urn.in_(list(urns))))}
    missing = [u for u in urns if u not in found]
    if missing:
        raise AuthorityError(f"No school with URN {', '.join(missing)}.")
    return [found[u] for u in urns]


def add_schools(session: Session, authority: Authority, schools: Sequence[School]) -> None:
    """Put `schools` in `authority` (out of any other). Does not commit."""
    ids = [s.id for s in schools]
    if not ids:
        return
    session.execute(delete(authority_schools).where(authority_schools.c.school_id.in_(ids)))
    session.execute(insert(authority_schools), [{"school_id": i, "authority_id": authority.id} for i in ids])


def broker_partnership(session: Session, authority: Authority, partnership: Partnership, started_on: date,
                       supported: Sequence[str], supporting: Sequence[str]) -> BrokeredPartnership:
    """Record that `authority` brokered `partnership` from `started_on`, pairing the schools
    with the `supported` URNs with those `supporting` them. Refuses a school outside the
    authority, a school on both sides, or no school on a side. Does not commit."""
    if not supported or not supporting:
        raise AuthorityError("A brokered partnership pairs at least one supported and one supporting school.")
    if set(supported) & set(supporting):
        raise AuthorityError("A school cannot be both supported and supporting.")
    schools = _schools(session, [*supported, *supporting])
    inside = set(session.scalars(select(authority_schools.c.school_id)
                                 .where(authority_schools.c.authority_id == authority.id)))
    outside = [s.urn for s in schools if s.id not in inside]
    if outside:
        raise AuthorityError(f"Not a school of {authority.name}: {', '.join(outside)}.")
    brokered = session.get(BrokeredPartnership, partnership.id)
    if brokered is None:
        brokered = BrokeredPartnership(partnership_id=partnership.id, authority_id=authority.id, started_on=started_on)
        session.add(brokered)
    brokered.authority_id, brokered.started_on = authority.id, started_on
    brokered.pairings.clear()
    session.flush()
    for school in schools:
        role = PAIRING_ROLES[0] if school.urn in supported else PAIRING_ROLES[1]
        brokered.pairings.append(PartnershipPairing(school_id=school.id, role=role))
    session.flush()
    record_event(session, None, "partnership brokered", authority=authority.name, partnership=partnership.name,
                 started_on=started_on, supported=list(supported), supporting=list(supporting))
    return brokered


def attach_staff(session: Session, authority: Authority, staff: StaffUser) -> None:
    """Make `staff` a member of `authority`'s staff: role "authority", no school or
    partnership (they see aggregates only). Does not commit."""
    session.execute(delete(authority_staff).where(authority_staff.c.staff_id == staff.id))
    session.execute(insert(authority_staff), [{"staff_id": staff.id, "authority_id": authority.id}])
    staff.role, staff.school_id, staff.partnership_id = "authority", None, None
    staff.session_version += 1  # a changed role ends the sessions signed in under the old one
    record_event(session, None, "authority staff attached", staff=staff.email, authority=authority.name)


def record_dashboard_export(session: Session, staff: StaffUser, authority: Authority, fmt: str,
                            round_ids: Sequence[int]) -> None:
    """Note an export of the authority dashboard in the audit log. Does not commit."""
    record_export(session, staff.id, f"authority view ({fmt})", format=fmt, authority=authority.name,
                  rounds=list(round_ids))
