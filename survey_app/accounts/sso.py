"""Staff sign-in through the school's OpenID Connect provider (Microsoft Entra ID, Google
Workspace or any standard provider), with Authlib and joserfc (Authlib's own JOSE library).

The flow is the authorization code flow with PKCE (S256), a random `state` used once and a
`nonce` bound into the ID token. The ID token's signature is checked against the provider's
published keys, and its issuer, audience and expiry are checked. The verified email then
has to match an existing staff account (nobody signs themselves up), and its domain has to
be one the account's school or partnership allows.

Nothing here reads `request` or `session`: the routes pass the pending sign-in, the query
parameters and the time, and get back the staff member or an `SsoRefused` with the reason
for the audit log and a message safe to show.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import SignInPolicy, SsoProvider, StaffUser
from ..models.staff import normalise_email

SCOPES = "openid email profile"
# How long someone may take at the provider's page before the sign-in is refused.
PENDING_FOR_SECONDS = 600
# Clock difference allowed between us and the provider when checking expiry.
LEEWAY_SECONDS = 60
DISCOVERY_CACHE_SECONDS = 3600
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Preset:
    label: str
    issuer: str  # {tenant} is filled in for Entra ID


PRESETS = {
    "entra": Preset("Microsoft", "https://login.microsoftonline.com/{tenant}/v2.0"),
    "google": Preset("Google", "https://accounts.google.com"),
}


PASSWORDS_SWITCHED_OFF_MESSAGE = ("Your school signs staff in with its own accounts, not passwords: use the "
                "“Sign in with” button above.")


class SsoRefused(Exception):
    """A refused single sign-on: `reason` for the audit log, `message` for the person."""

    def __init__(self, reason: str, message: str, user: StaffUser | None = None, email: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.user = user
        self.email = email


class SsoUnavailable(Exception):
    """The provider could not be reached or answered nonsense; the message is safe to show."""


def issuer_for(kind: str, tenant: str | None, issuer: str | None) -> str:
    """Return the issuer URL of a provider from its preset (Entra ID needs the tenant)."""
    if kind == "entra":
        return PRESETS["entra"].issuer.format(tenant=(tenant or "").strip())
    if kind == "google":
        return PRESETS["google"].issuer
    return (issuer or "").strip().rstrip("/")


def issuer_problem(issuer: str) -> str | None:
    """Return why `issuer` cannot be a provider's issuer URL, or None when it can
    (https, or http only on this computer, for testing)."""
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.netloc:
        return None
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"):
        return None
    return "The issuer must be an https:// address."


_discovered: dict[str, tuple[float, dict]] = {}
_keys: dict[str, tuple[float, dict]] = {}


def _get_json(url: str) -> dict:
    try:
        resp = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
        resp.raise_for_status()
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoUnavailable(f"The sign-in service did not answer at {url} ({type(exc).__name__}).") from exc
    if not isinstance(body, dict):
        raise SsoUnavailable(f"The sign-in service sent something unexpected from {url}.")
    return body


def discovery(issuer: str, *, refresh: bool = False) -> dict:
    """Return the provider's discovery document (cached for an hour). Refuses
    (SsoUnavailable) one that cannot be read or that names another issuer."""
    cached = _discovered.get(issuer)
    if cached and not refresh and time.monotonic() - cached[0] < DISCOVERY_CACHE_SECONDS:
        return cached[1]
    doc = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if doc.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise SsoUnavailable("The sign-in service's discovery document names a different issuer.")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(key), str):
            raise SsoUnavailable(f"The sign-in service's discovery document has no {key}.")
    _discovered[issuer] = (time.monotonic(), doc)
    return doc


def _key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    cached = _keys.get(jwks_uri)
    if cached and not refresh and time.monotonic() - cached[0] < DISCOVERY_CACHE_SECONDS:
        return KeySet.import_key_set(cached[1])
    body = _get_json(jwks_uri)
    _keys[jwks_uri] = (time.monotonic(), body)
    return KeySet.import_key_set(body)


def client_secret(provider: SsoProvider) -> str | None:
    """Return the client secret from the environment variable the provider names."""
    return os.environ.get(provider.secret_env) if provider.secret_env else None


def begin(provider: SsoProvider, redirect_uri: str, now: float) -> tuple[str, dict]:
    """Return (the provider's authorization URL, the pending sign-in to keep in the
    session until the provider sends the person back)."""
    doc = discovery(provider.issuer)
    state = generate_token(32)
    nonce = generate_token(32)
    verifier = secrets.token_urlsafe(48)
    query = {
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
        "scope": SCOPES, "state": state, "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256",
    }
    if provider.kind == "entra":
        query["prompt"] = "select_account"
    pending = {"state": state, "nonce": nonce, "verifier": verifier, "provider_id": provider.id,
               "redirect_uri": redirect_uri, "started": now}
    sep = "&" if "?" in doc["authorization_endpoint"] else "?"
    return doc["authorization_endpoint"] + sep + urlencode(query), pending


def take_pending(pending: dict[str, dict], state: str | None, now: float) -> dict:
    """Remove and return the pending sign-in `state` names. Refuses a state that was never
    issued to this browser, was used already (a replay) or is too old."""
    entry = pending.pop(state or "", None)
    if entry is None:
        raise SsoRefused("state unknown or already used",
                         "That sign-in link has been used already or was not started here. Please start again.")
    if now - float(entry.get("started", 0)) > PENDING_FOR_SECONDS:
        raise SsoRefused("sign-in took too long", "The sign-in took too long. Please start again.")
    return entry


def _exchange(provider: SsoProvider, doc: dict, code: str, entry: dict) -> dict:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": entry["redirect_uri"],
            "client_id": provider.client_id, "code_verifier": entry["verifier"]}
    secret = client_secret(provider)
    auth = (provider.client_id, secret) if secret else None
    try:
        resp = httpx.post(doc["token_endpoint"], data=data, auth=auth, timeout=HTTP_TIMEOUT)
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoUnavailable("The sign-in service did not answer when asked for the token.") from exc
    if resp.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        raise SsoRefused(f"token request refused ({error or resp.status_code})",
                         "The sign-in service refused to complete the sign-in. Please start again.")
    return body


_CLAIM_REASONS = {"iss": "wrong issuer", "nbf": "ID token not valid yet", "aud": "wrong audience",
                  "nonce": "nonce did not match",
                  "azp": "wrong authorised party", "at_hash": "access token hash did not match"}


def verify_id_token(provider: SsoProvider, doc: dict, token: dict, nonce: str, now: float) -> dict:
    """Return the ID token's claims once its signature, issuer, audience, expiry and nonce
    check out. Refuses (SsoRefused) with the failing check as the reason."""
    raw = token["id_token"]
    registry = JWSRegistry(algorithms=doc.get("id_token_signing_alg_values_supported") or ["RS256"])
    try:
        try:
            decoded = jwt.decode(raw, _key_set(doc["jwks_uri"]), registry=registry)
        except (BadSignatureError, InvalidKeyIdError):  # the provider may have rolled its keys
            decoded = jwt.decode(raw, _key_set(doc["jwks_uri"], refresh=True), registry=registry)
    except (JoseError, ValueError) as exc:
        raise SsoRefused("ID token signature not valid", _FAILED) from exc
    claims = CodeIDToken(
        decoded.claims, decoded.header,
        {"iss": {"essential": True, "value": provider.issuer},
         "aud": {"essential": True, "value": provider.client_id}},
        {"nonce": nonce, "client_id": provider.client_id, "access_token": token.get("access_token")},
    )
    try:
        claims.validate(now=int(now), leeway=LEEWAY_SECONDS)
    except ExpiredTokenError as exc:
        raise SsoRefused("ID token expired", _FAILED) from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = getattr(exc, "claim", "") or ""
        raise SsoRefused(_CLAIM_REASONS.get(claim, f"ID token claim {claim or '?'} not valid"), _FAILED) from exc
    return dict(claims)


_FAILED = "The sign-in could not be checked, so it was refused. Please try again or ask an administrator."


def verified_email(provider: SsoProvider, claims: dict) -> str:
    """Return the email the provider vouches for. Refuses an email the provider does not
    say it has verified (Entra ID says so with `xms_edov`, the others with
    `email_verified`)."""
    email = normalise_email(str(claims.get("email") or ""))
    if not email or "@" not in email:
        raise SsoRefused("no email in the ID token",
                         "Your account at the sign-in service has no email address we can use.")
    verified = claims.get("email_verified") is True or claims.get("email_verified") == "true"
    if provider.kind == "entra" and claims.get("xms_edov") in (True, "true", "1", 1):
        verified = True
    if not verified:
        raise SsoRefused("email not verified",
                         "The sign-in service has not verified your email address, so it cannot be used here.",
                         email=email)
    return email


def policies_for(session: Session, user: StaffUser) -> list[SignInPolicy]:
    """Return the sign-in rules that apply to `user`: their school's and its partnership's,
    their partnership's, or (administrators) the rule for administrators."""
    if user.school_id is not None:
        school = user.school
        conditions = [SignInPolicy.school_id == user.school_id]
        if school is not None and school.partnership_id is not None:
            conditions.append(SignInPolicy.partnership_id == school.partnership_id)
    elif user.partnership_id is not None:
        conditions = [SignInPolicy.partnership_id == user.partnership_id]
    else:
        conditions = [(SignInPolicy.school_id.is_(None)) & (SignInPolicy.partnership_id.is_(None))]
    return list(session.scalars(select(SignInPolicy).where(or_(*conditions))))


def allowed_domains(session: Session, user: StaffUser) -> set[str]:
    """Return the email domains `user` may sign in with through a provider."""
    return {d for policy in policies_for(session, user) for d in policy.domains}


def password_allowed(session: Session, user: StaffUser) -> bool:
    """Return whether `user` may sign in with a password. Administrators always may: theirs
    is the local break-glass account for when the provider is down."""
    if user.role == "admin":
        return True
    return all(policy.password_sign_in for policy in policies_for(session, user))


def match_account(session: Session, email: str) -> StaffUser:
    """Return the active staff account with `email` whose place allows its domain.
    Refuses an email with no account (no self sign-up), an account switched off, and a
    domain the account's school or partnership does not allow."""
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        raise SsoRefused("no account has that email",
                         f"There is no staff account for {email}. Ask an administrator or your lead to create one.",
                         email=email)
    if not user.active:
        raise SsoRefused("account switched off", "This account is switched off. Ask an administrator.", user=user)
    domain = email.rsplit("@", 1)[1]
    if domain not in allowed_domains(session, user):
        raise SsoRefused("email domain not allowed",
                         f"Accounts at {domain} may not sign in here with single sign-on. Ask an administrator.",
                         user=user)
    return user


def finish(session: Session, provider: SsoProvider, entry: dict, params: dict,
           now: float) -> tuple[StaffUser, dict, str]:
    """Complete a sign-in the provider sent back: return (the staff member, the ID token's
    claims, the raw ID token for signing out at the provider). Refuses (SsoRefused) on
    every failed check; SsoUnavailable when the provider cannot be reached."""
    if params.get("error"):
        raise SsoRefused(f"provider refused ({str(params['error'])[:60]})",
                         "The sign-in service did not sign you in. Please try again.")
    code = params.get("code")
    if not code:
        raise SsoRefused("no code from the provider", "The sign-in service sent no sign-in. Please start again.")
    doc = discovery(provider.issuer)
    token = _exchange(provider, doc, code, entry)
    claims = verify_id_token(provider, doc, token, entry["nonce"], now)
    email = verified_email(provider, claims)
    return match_account(session, email), claims, token["id_token"]


def logout_url(provider: SsoProvider, id_token: str | None, after: str) -> str | None:
    """Return the provider's end-session address (signing out there too), or None when the
    provider has none or cannot be reached."""
    try:
        endpoint = discovery(provider.issuer).get("end_session_endpoint")
    except SsoUnavailable:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    query = {"client_id": provider.client_id, "post_logout_redirect_uri": after}
    if id_token:
        query["id_token_hint"] = id_token
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def active_providers(session: Session) -> list[SsoProvider]:
    """Return the providers offered on the sign-in page, in name order."""
    return list(session.scalars(select(SsoProvider).where(SsoProvider.active.is_(True)).order_by(SsoProvider.name)))
