"""Single sign-on pages: starting a sign-in at the provider, the provider's return, and
the administrators' settings (providers, and each place's sign-in rule)."""

from __future__ import annotations

import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from ..audit import log as audit_log
from ..audit.changes import record_change
from ..db import db
from ..extensions import limiter
from ..models import SsoProvider
from ..models.base import utcnow
from . import operations as ops
from . import sso
from .access import request_next, safe_next, staff_required, start_staff_session
from .routes import bp
from .sso_forms import ProviderForm, RemoveProviderForm, SignInRuleForm
from .sso_settings import SettingsError, add_provider, remove_provider, rules, save_rule

PENDING = "sso_pending"
SIGNED_IN_WITH = "sso_signed_in"
MAX_PENDING = 5


def _refuse(exc: sso.SsoRefused, provider: SsoProvider):
    user_id = exc.user.id if exc.user is not None else None
    detail = {"reason": exc.reason, "via": "single sign-on", "provider": provider.name,
              "address": request.remote_addr}
    if user_id is None and exc.email:
        detail["email"] = exc.email
    audit_log.record_event(db.session, user_id, audit_log.SIGN_IN_REFUSED, **detail)
    db.session.commit()
    flash(exc.message, "error")
    return redirect(url_for("accounts.sign_in"))


@bp.get("/sso/start")
@limiter.limit("30 per minute")
def sso_start():
    provider_id = request.args.get("provider", type=int)
    provider = db.session.get(SsoProvider, provider_id) if provider_id else None
    if provider is None or not provider.active:
        abort(404)
    try:
        url, entry = sso.begin(provider, url_for("accounts.sso_callback", _external=True), time.time())
    except sso.SsoUnavailable as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.sign_in"))
    entry["next"] = request_next() or ""
    pending = dict(session.get(PENDING) or {})
    while len(pending) >= MAX_PENDING:  # the oldest unfinished sign-ins of this browser go
        pending.pop(min(pending, key=lambda s: pending[s].get("started", 0)))
    pending[entry["state"]] = entry
    session[PENDING] = pending
    return redirect(url)


def _take_pending(now: float) -> dict | None:
    """Spend the pending sign-in the returned `state` names (whatever happens next); None
    (and an audit entry) when there is none."""
    pending = dict(session.get(PENDING) or {})
    try:
        return sso.take_pending(pending, request.args.get("state"), now)
    except sso.SsoRefused as exc:
        audit_log.record_event(db.session, None, audit_log.SIGN_IN_REFUSED, reason=exc.reason,
                               via="single sign-on", address=request.remote_addr)
        db.session.commit()
        flash(exc.message, "error")
        return None
    finally:
        session[PENDING] = pending


def _signed_in(user, provider: SsoProvider, id_token: str, target: str):
    start_staff_session(user)
    session[SIGNED_IN_WITH] = {"provider_id": provider.id, "id_token": id_token}
    user.last_login_at = utcnow()
    record_change(db.session, user, "staff", user.id, "signed in", {"via": provider.name})
    audit_log.record_event(db.session, user.id, audit_log.SIGNED_IN, via="single sign-on",
                           provider=provider.name, address=request.remote_addr)
    db.session.commit()
    return redirect(target)


@bp.get("/sso/callback")
@limiter.limit("30 per minute")
def sso_callback():
    now = time.time()
    entry = _take_pending(now)
    if entry is None:
        return redirect(url_for("accounts.sign_in"))
    provider = db.session.get(SsoProvider, entry["provider_id"])
    if provider is None or not provider.active:
        abort(404)
    try:
        user, _claims, id_token = sso.finish(db.session, provider, entry, request.args.to_dict(), now)
    except sso.SsoRefused as exc:
        return _refuse(exc, provider)
    except sso.SsoUnavailable as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.sign_in"))
    return _signed_in(user, provider, id_token, safe_next(entry.get("next")) or url_for("staff.dashboard"))


def provider_logout(signed_in: dict | None) -> tuple[SsoProvider | None, str | None]:
    """Return the provider this session signed in with and its end-session address."""
    if not signed_in:
        return None, None
    provider = db.session.get(SsoProvider, signed_in.get("provider_id"))
    if provider is None:
        return None, None
    return provider, sso.logout_url(provider, signed_in.get("id_token"),
                                     url_for("accounts.sign_in", _external=True))


def _settings_page(provider_form=None, rule_form=None, status=200):
    provider_form = provider_form or ProviderForm(formdata=None)
    if rule_form is None:
        rule_form = SignInRuleForm(formdata=None)
        rule_form.place.choices = ops.place_options(db.session)
    return render_template(
        "accounts/sso_settings.html", providers=db.session.scalars(
            select(SsoProvider).order_by(SsoProvider.name)).all(),
        rules=rules(db.session), provider_form=provider_form, rule_form=rule_form,
        remove_form=RemoveProviderForm(formdata=None), callback=url_for("accounts.sso_callback", _external=True),
        secret_set={p.id: bool(sso.client_secret(p)) for p in db.session.scalars(select(SsoProvider))},
    ), status


@bp.get("/admin/sign-in")
@staff_required("admin")
def sso_settings():
    return _settings_page()


@bp.post("/admin/sign-in/providers")
@staff_required("admin")
def sso_add_provider():
    form = ProviderForm()
    if form.validate_on_submit():
        try:
            provider = add_provider(db.session, current_user._get_current_object(), form.kind.data, form.name.data,
                                    form.tenant.data, form.issuer.data, form.client_id.data, form.secret_env.data)
        except SettingsError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Staff can now sign in with {provider.name}.", "success")
            return redirect(url_for("accounts.sso_settings"))
    if not form.is_submitted() or form.csrf_token.errors:
        abort(400)
    return _settings_page(provider_form=form, status=400)


@bp.post("/admin/sign-in/providers/remove")
@staff_required("admin")
def sso_remove_provider():
    form = RemoveProviderForm()
    if not form.validate_on_submit() or not form.provider_id.data.isdigit():
        abort(400)
    try:
        name = remove_provider(db.session, current_user._get_current_object(), int(form.provider_id.data))
    except SettingsError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{name} is removed from the sign-in page.", "success")
    return redirect(url_for("accounts.sso_settings"))


@bp.post("/admin/sign-in/rules")
@staff_required("admin")
def sso_save_rule():
    form = SignInRuleForm()
    form.place.choices = ops.place_options(db.session)
    if form.validate_on_submit():
        place = ops.place_from_key(db.session, form.place.data)
        save_rule(db.session, current_user._get_current_object(), place, (form.domains.data or "").split(),
                  form.password_sign_in.data)
        db.session.commit()
        flash(f"The sign-in rule for {place.label} is saved.", "success")
        return redirect(url_for("accounts.sso_settings"))
    if form.csrf_token.errors:
        abort(400)
    return _settings_page(rule_form=form, status=400)
