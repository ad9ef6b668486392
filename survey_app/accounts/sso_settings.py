"""Administrators' single sign-on settings: the writes. Each takes the acting
administrator, owns its transaction's audit record and refuses with `SettingsError`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.changes import record_change
from ..models import SignInPolicy, SsoProvider, StaffUser
from .operations import Place
from .sso import PRESETS, SsoUnavailable, discovery, issuer_for


class SettingsError(ValueError):
    """A refused settings change; the message is safe to show."""


def add_provider(session: Session, actor: StaffUser, kind: str, name: str | None, tenant: str | None,
                 issuer: str | None, client_id: str, secret_env: str | None) -> SsoProvider:
    """Add a provider after reading its discovery document. Refuses a provider already
    set up and one whose discovery document cannot be read."""
    url = issuer_for(kind, tenant, issuer)
    if session.scalar(select(SsoProvider.id).where(SsoProvider.issuer == url)) is not None:
        raise SettingsError(f"A provider with the issuer {url} is set up already.")
    try:
        discovery(url, refresh=True)
    except SsoUnavailable as exc:
        raise SettingsError(str(exc)) from exc
    label = name or (PRESETS[kind].label if kind in PRESETS else "")
    if not label:
        raise SettingsError("Give the name to show on the button.")
    provider = SsoProvider(name=label, kind=kind, issuer=url, client_id=client_id, secret_env=secret_env or None)
    session.add(provider)
    session.flush()
    record_change(session, actor, "sso provider", provider.id, "added single sign-on provider",
                  {"name": label, "issuer": url, "client_id": client_id})
    return provider


def remove_provider(session: Session, actor: StaffUser, provider_id: int) -> str:
    """Remove a provider and return its name. Refuses an unknown id."""
    provider = session.get(SsoProvider, provider_id)
    if provider is None:
        raise SettingsError("That provider is not set up.")
    name = provider.name
    record_change(session, actor, "sso provider", provider.id, "removed single sign-on provider",
                  {"name": name, "issuer": provider.issuer})
    session.delete(provider)
    return name


def save_rule(session: Session, actor: StaffUser, place: Place, domains: list[str],
              password_sign_in: bool) -> SignInPolicy:
    """Set the sign-in rule of a school, a partnership or (no place) administrators.
    Administrators' passwords are never switched off: theirs is the break-glass account."""
    if place.school is not None:
        where = SignInPolicy.school_id == place.school.id
    elif place.partnership is not None:
        where = SignInPolicy.partnership_id == place.partnership.id
    else:
        where = SignInPolicy.school_id.is_(None) & SignInPolicy.partnership_id.is_(None)
        password_sign_in = True
    policy = session.scalar(select(SignInPolicy).where(where))
    if policy is None:
        policy = SignInPolicy(school_id=place.school.id if place.school is not None else None,
                              partnership_id=place.partnership.id if place.partnership is not None else None)
        session.add(policy)
    policy.allowed_domains = "\n".join(sorted({d.lower() for d in domains}))
    policy.password_sign_in = password_sign_in
    session.flush()
    record_change(session, actor, "sign-in rule", policy.id, "set sign-in rule",
                  {"place": place.label, "domains": sorted({d.lower() for d in domains}),
                   "password sign-in": password_sign_in})
    return policy


def rules(session: Session) -> list[SignInPolicy]:
    """Return every sign-in rule (administrators' first, then by place)."""
    return list(session.scalars(select(SignInPolicy).order_by(SignInPolicy.school_id.is_not(None),
                                                               SignInPolicy.partnership_id, SignInPolicy.school_id)))
