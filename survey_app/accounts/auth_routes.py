"""Staff sign-in routes: validate, call the account service, redirect or render."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..audit import log as audit_log
from ..audit.changes import record_change
from ..db import db
from ..extensions import limiter
from ..models.base import utcnow
from . import passwords as staff_accounts
from . import sso
from .access import (
    end_staff_session,
    renew_staff_session,
    request_next,
    safe_next,
    sign_in_waits,
    staff_required,
    start_staff_session,
)
from .auth_forms import ChangePasswordForm, ResetPasswordForm, SignInForm, SignOutForm
from .routes import bp
from .sso_routes import SIGNED_IN_WITH, provider_logout


def _passwords_switched_off(user) -> staff_accounts.SignInResult:
    """Refuse a right password where the school signs in with its provider, keeping nothing
    of the attempt but the audit entry."""
    user_id = user.id
    db.session.rollback()  # not even the last sign-in time
    audit_log.record_event(db.session, user_id, audit_log.SIGN_IN_REFUSED,
                           reason="password sign-in switched off", address=request.remote_addr)
    return staff_accounts.SignInResult(None, sso.PASSWORDS_SWITCHED_OFF_MESSAGE)


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = SignInForm()
    idle = session.pop("staff_idle_out", False)
    expired = session.pop("staff_expired", False)
    if not form.is_submitted():
        form.next.data = request_next() or ""
    if form.validate_on_submit():
        result = staff_accounts.authenticate(db.session, form.email.data, form.password.data, utcnow(),
                                             request.remote_addr or "", sign_in_waits())
        if result.user is None:
            audit_log.record_sign_in_refused(db.session, form.email.data, result.message, request.remote_addr)
        elif not sso.password_allowed(db.session, result.user):
            result = _passwords_switched_off(result.user)
        db.session.commit()
        if result.user is not None:
            target = safe_next(form.next.data) or url_for("staff.dashboard")
            start_staff_session(result.user)
            record_change(db.session, result.user, "staff", result.user.id, "signed in", {})
            audit_log.record_sign_in(db.session, result.user, request.remote_addr)
            db.session.commit()
            return redirect(target)
        form.password.errors.append(result.message)
    status = 400 if form.errors else 200
    return render_template("accounts/sign_in.html", form=form, idle=idle, expired=expired,
                           hours=current_app.config["STAFF_SESSION_HOURS"],
                           providers=sso.active_providers(db.session)), status


@bp.post("/sign-out")
def sign_out():
    """Sign out here and end this account's sessions everywhere (other browsers too)."""
    form = SignOutForm()
    if form.validate_on_submit() or not current_user.is_authenticated:
        provider, logout_url = provider_logout(session.get(SIGNED_IN_WITH))
        if current_user.is_authenticated:
            user = current_user._get_current_object()
            staff_accounts.end_sessions(user)
            audit_log.record_sign_out(db.session, user.id, request.remote_addr)
            db.session.commit()
        end_staff_session()
        if logout_url:
            return render_template("accounts/signed_out.html", provider=provider, logout_url=logout_url)
        flash("You have signed out.", "info")
    return redirect(url_for("accounts.sign_in"))


@bp.route("/password", methods=["GET", "POST"])
@staff_required("admin", "lead", "teacher", "authority")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            staff_accounts.change_password(user, form.current.data, form.new.data)
        except staff_accounts.AccountError as exc:
            form.new.errors.append(str(exc))
        else:
            record_change(db.session, user, "staff", user.id, "changed password", {})
            db.session.commit()
            renew_staff_session(user)  # the session version moved on: keep this one signed in
            flash("Your password has been changed. Other sessions have been signed out.", "success")
            return redirect(url_for("staff.dashboard"))
    status = 400 if form.errors else 200
    return render_template("accounts/change_password.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute")
def reset_password(token: str):
    reset = staff_accounts.find_reset(db.session, token, utcnow())
    if reset is None:
        return render_template("accounts/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = staff_accounts.use_reset(db.session, token, form.new.data, utcnow())
        except staff_accounts.AccountError as exc:
            form.new.errors.append(str(exc))
        else:
            record_change(db.session, user, "staff", user.id, "reset password", {})
            db.session.commit()
            flash("Your password is set. Please sign in.", "success")
            return redirect(url_for("accounts.sign_in"))
    status = 400 if form.errors else 200
    return render_template("accounts/reset.html", form=form, email=reset.staff.email), status
