"""Forms of the staff-account screens. The place choices are set by the route."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..audit.log import ACTION_KINDS
from ..db import db
from ..models import StaffUser
from ..models.staff import EMAIL_PATTERN, normalise_email
from .operations import ROLE_LABELS
from .passwords import password_problems


def _strip(value):
    return value.strip() if isinstance(value, str) else value


ROLE_CHOICES = [SelectChoice(role, label) for role, label in ROLE_LABELS.items()]
ROLE_REFUSAL = "Choose teacher, lead or administrator (authority staff are added on the Authorities page)."


class StaffCreateForm(FlaskForm):
    email = EmailField("Email", filters=[_strip],
                       validators=[DataRequired(message="Give an email address."), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    name = StringField("Name", filters=[_strip], validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="teacher",
                       invalid_choice_message=ROLE_REFUSAL)
    place = SelectField("School or partnership", invalid_choice_message="Choose a school or partnership from the list.")
    send_link = BooleanField("Do not set a password: give me a one-time set-password link to pass on")
    password = PasswordField("Initial password",
                             validators=[Length(max=200)], render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Initial password again", render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Create account")

    def validate_email(self, field):
        email = normalise_email(field.data)
        if not EMAIL_PATTERN.match(email):
            raise ValidationError("Give a valid email address.")
        if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
            raise ValidationError("There is already an account with that email.")

    def validate_place(self, field):
        if self.role.data == "admin" and field.data:
            raise ValidationError("An administrator sees every school: give no school or partnership.")
        if self.role.data in ("lead", "teacher") and not field.data:
            raise ValidationError("A lead or teacher needs a school or a partnership.")

    def validate_password(self, field):
        if self.send_link.data:
            return
        if not field.data:
            raise ValidationError("Set an initial password, or tick the set-password link box.")
        problems = password_problems(field.data, normalise_email(self.email.data))
        if problems:
            raise ValidationError(" ".join(problems))

    def validate_confirm(self, field):
        if not self.send_link.data and field.data != self.password.data:
            raise ValidationError("The two passwords differ.")


class StaffEditForm(FlaskForm):
    name = StringField("Name", filters=[_strip],
                       validators=[DataRequired(message="Give a name."), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES,
                       invalid_choice_message=ROLE_REFUSAL)
    place = SelectField("School or partnership", invalid_choice_message="Choose a school or partnership from the list.")
    active = BooleanField("Account is switched on (may sign in)")
    submit = SubmitField("Save changes")


class ButtonForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""

    submit = SubmitField("Confirm")


class PlainDateField(DateField):
    """A date field whose refusal says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Give a date like 2026-11-30.") from None


class AuditSearchForm(FlaskForm):
    """The audit log's filters, read from the query string (a GET changes nothing)."""

    class Meta:
        csrf = False

    who = SearchField("Staff member", filters=[_strip], validators=[Optional(), Length(max=254)])
    pupil = SearchField("Pupil (name or UPN)", filters=[_strip], validators=[Optional(), Length(max=100)])
    what = SelectField("What", choices=[SelectChoice("", "Anything")]
                       + [SelectChoice(k.key, k.label) for k in ACTION_KINDS], default="",
                       invalid_choice_message="Choose what to look for from the list.")
    since = PlainDateField("From", validators=[Optional()])
    until = PlainDateField("To", validators=[Optional()])
    pupil_id = IntegerField("Pupil record", validators=[Optional(), NumberRange(min=1)])
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, message="Pages start at 1.")])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")


class EraseForm(FlaskForm):
    upn = StringField("Type the pupil's UPN to confirm", filters=[_strip],
                      validators=[DataRequired(message="Type the pupil's UPN to confirm."), Length(max=20)],
                      render_kw={"autocomplete": "off", "spellcheck": "false"})
    submit = SubmitField("Erase this pupil for good")
