"""Forms of the single sign-on settings screen (administrators). Place choices are set by
the route."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .sso import issuer_problem

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
TENANT = re.compile(r"^([0-9a-fA-F-]{36}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")
DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ProviderForm(FlaskForm):
    kind = SelectField("Kind of provider", choices=[
        SelectChoice("entra", "Microsoft Entra ID (Microsoft 365)"), SelectChoice("google", "Google Workspace"),
        SelectChoice("oidc", "Another OpenID Connect provider")], default="entra",
        invalid_choice_message="Choose Microsoft, Google or another provider.")
    name = StringField("Name on the button", filters=[_strip], validators=[Optional(), Length(max=100)],
                       description="Staff see “Sign in with” and this name. Left empty: Microsoft or Google.")
    tenant = StringField("Directory (tenant) ID or domain", filters=[_strip], validators=[Optional(), Length(max=100)],
                         description="Microsoft only: from the app registration's overview page.")
    issuer = StringField("Issuer URL", filters=[_strip], validators=[Optional(), Length(max=500)],
                         description="Another provider only: its address before /.well-known/openid-configuration.")
    client_id = StringField("Client ID", filters=[_strip],
                            validators=[DataRequired(message="Give the client ID."), Length(max=200)])
    secret_env = StringField("Environment variable holding the client secret", filters=[_strip],
                             validators=[Optional(), Length(max=100)],
                             description="For example SSO_MICROSOFT_SECRET. The secret itself is never stored here.")
    submit = SubmitField("Add provider")

    def validate_tenant(self, field):
        if self.kind.data == "entra" and not TENANT.match(field.data or ""):
            raise ValidationError("Give the directory (tenant) ID, 36 characters, or the tenant's domain.")

    def validate_issuer(self, field):
        if self.kind.data == "oidc":
            problem = issuer_problem((field.data or "").rstrip("/")) if field.data else "Give the issuer URL."
            if problem:
                raise ValidationError(problem)

    def validate_secret_env(self, field):
        if field.data and not ENV_NAME.match(field.data):
            raise ValidationError("Use capital letters, digits and underscores, not starting with a digit.")


class RemoveProviderForm(FlaskForm):
    provider_id = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Remove")


class SignInRuleForm(FlaskForm):
    place = SelectField("School or partnership",
                        invalid_choice_message="Choose a school or partnership from the list.")
    domains = TextAreaField("Email domains allowed for single sign-on", filters=[_strip],
                            validators=[Length(max=2000)],
                            description="One a line, for example stmarys.sch.uk.")
    password_sign_in = BooleanField("Staff here may also sign in with a password", default=True)
    submit = SubmitField("Save rule")

    def validate_domains(self, field):
        for domain in (field.data or "").split():
            if not DOMAIN.match(domain.lower()):
                raise ValidationError(f"“{domain[:60]}” is not an email domain (write it like school.sch.uk).")
