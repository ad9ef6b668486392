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


def create_authority(session: Session, name: str, school_urns: Sequence[str],
                     actor_id: int | None = None) -> Authority:
    """Create an authority holding the schools with these URNs (a school leaves any other
    authority). Refuses an empty or taken name, an unknown URN, or a school paired in a
    partnership another authority brokered. Does not commit."""
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
    record_event(session, actor_id, "authority created", authority=name, schools=[s.urn for s in schools])
    return authority


def _schools(session: Session, urns: Sequence[str]) -> list[School]:
    found = {s.urn: s for s in session.scalars(select(School).where(School.urn.in_(list(urns))))}
    missing = [u for u in urns if u not in found]
    if missing:
        raise AuthorityError(f"No school with URN {', '.join(missing)}.")
    return [found[u] for u in urns]


def add_schools(session: Session, authority: Authority, schools: Sequence[School]) -> None:
    """Put `schools` in `authority` (out of any other). Refuses a school paired in a
    partnership another authority brokered (it would leave that pairing outside its
    authority). Does not commit."""
    ids = [s.id for s in schools]
    if not ids:
        return
    paired = session.execute(
        select(School.name, Authority.name)
        .join(PartnershipPairing, PartnershipPairing.school_id == School.id)
        .join(BrokeredPartnership, BrokeredPartnership.partnership_id == PartnershipPairing.partnership_id)
        .join(Authority, Authority.id == BrokeredPartnership.authority_id)
        .where(School.id.in_(ids), Authority.id != authority.id)).first()
    if paired is not None:
        raise AuthorityError(f"{paired[0]} is paired in a partnership {paired[1]} brokered: "
                             f"remove that partnership from {paired[1]} first.")
    session.execute(delete(authority_schools).where(authority_schools.c.school_id.in_(ids)))
    session.execute(insert(authority_schools), [{"school_id": i, "authority_id": authority.id} for i in ids])


def broker_partnership(session: Session, authority: Authority, partnership: Partnership, started_on: date,
                       supported: Sequence[str], supporting: Sequence[str],
                       actor_id: int | None = None) -> BrokeredPartnership:
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
    record_event(session, actor_id, "partnership brokered", authority=authority.name, partnership=partnership.name,
                 started_on=started_on, supported=list(supported), supporting=list(supporting))
    return brokered


def attach_staff(session: Session, authority: Authority, staff: StaffUser, actor_id: int | None = None) -> None:
    """Make `staff` a member of `authority`'s staff: role "authority", no school or
    partnership (they see aggregates only). Does not commit."""
    session.execute(delete(authority_staff).where(authority_staff.c.staff_id == staff.id))
    session.execute(insert(authority_staff), [{"staff_id": staff.id, "authority_id": authority.id}])
    staff.role, staff.school_id, staff.partnership_id = "authority", None, None
    staff.session_version += 1  # a changed role ends the sessions signed in under the old one
    record_event(session, actor_id, "authority staff attached", staff=staff.email, authority=authority.name)


def add_school(session: Session, authority: Authority, urn: str, actor_id: int | None = None) -> School:
    """Put the school with this URN in `authority` (out of any other) and return it.
    Refuses an unknown URN, a school already in it, or one paired in a partnership
    another authority brokered. Does not commit."""
    (school,) = _schools(session, [(urn or "").strip()])
    if school.id in _school_ids(session, authority):
        raise AuthorityError(f"{school.name} is already a school of {authority.name}.")
    add_schools(session, authority, [school])
    record_event(session, actor_id, "authority school added", authority=authority.name, school=school.urn)
    return school


def _school_ids(session: Session, authority: Authority) -> set[int]:
    return set(session.scalars(select(authority_schools.c.school_id)
                               .where(authority_schools.c.authority_id == authority.id)))


def remove_school(session: Session, authority: Authority, school: School, actor_id: int | None = None) -> None:
    """Take `school` out of `authority`. Refuses a school not in it, or one paired in a
    partnership the authority brokered (remove that partnership first). Does not commit."""
    if school.id not in _school_ids(session, authority):
        raise AuthorityError(f"{school.name} is not a school of {authority.name}.")
    paired = session.scalar(select(Partnership.name)
                            .join(BrokeredPartnership, BrokeredPartnership.partnership_id == Partnership.id)
                            .join(PartnershipPairing,
                                  PartnershipPairing.partnership_id == BrokeredPartnership.partnership_id)
                            .where(BrokeredPartnership.authority_id == authority.id,
                                   PartnershipPairing.school_id == school.id))
    if paired is not None:
        raise AuthorityError(f"{school.name} is paired in the brokered partnership {paired}: remove that first.")
    session.execute(delete(authority_schools).where(authority_schools.c.school_id == school.id,
                                                    authority_schools.c.authority_id == authority.id))
    record_event(session, actor_id, "authority school removed", authority=authority.name, school=school.urn)


def remove_brokered(session: Session, authority: Authority, partnership: Partnership,
                    actor_id: int | None = None) -> None:
    """Forget that `authority` brokered `partnership` (its pairings go with it; the
    partnership itself stays). Refuses one the authority did not broker. Does not commit."""
    brokered = session.get(BrokeredPartnership, partnership.id)
    if brokered is None or brokered.authority_id != authority.id:
        raise AuthorityError(f"{authority.name} did not broker {partnership.name}.")
    session.delete(brokered)
    session.flush()
    record_event(session, actor_id, "brokered partnership removed", authority=authority.name,
                 partnership=partnership.name)


def join_staff(session: Session, authority: Authority, staff: StaffUser, actor_id: int | None = None) -> None:
    """Make an existing account with role "authority" a member of `authority`'s staff (out
    of any other authority). Refuses an account of another role (change its role on its
    account page first) or one already in this authority. Does not commit."""
    if staff.role != "authority":
        raise AuthorityError(f"{staff.email} is a {staff.role} account: only accounts with role authority "
                             "join an authority.")
    if staff.authority is not None and staff.authority.id == authority.id:
        raise AuthorityError(f"{staff.email} is already on {authority.name}'s staff.")
    attach_staff(session, authority, staff, actor_id)


def detach_staff(session: Session, authority: Authority, staff: StaffUser, actor_id: int | None = None) -> None:
    """Take `staff` off `authority`'s staff: the account stays (role authority, no
    authority, so it sees nothing) and its sessions end. Refuses one not on the staff.
    Does not commit."""
    removed = session.execute(delete(authority_staff).where(authority_staff.c.staff_id == staff.id,
                                                            authority_staff.c.authority_id == authority.id))
    if not removed.rowcount:
        raise AuthorityError(f"{staff.email} is not on {authority.name}'s staff.")
    staff.session_version += 1
    session.expire(staff, ["authority"])
    record_event(session, actor_id, "authority staff removed", staff=staff.email, authority=authority.name)


def record_dashboard_export(session: Session, staff: StaffUser, authority: Authority, fmt: str,
                            round_ids: Sequence[int]) -> None:
    """Note an export of the authority dashboard in the audit log. Does not commit."""
    record_export(session, staff.id, f"authority view ({fmt})", format=fmt, authority=authority.name,
                  rounds=list(round_ids))
