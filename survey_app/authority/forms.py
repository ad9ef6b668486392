"""Forms of the administrator's authority pages. The route sets the choices; a school or
partnership outside them is refused by the operation, in words (validate_choice=False)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AuthorityCreateForm(FlaskForm):
    name = StringField("Name", filters=[_strip],
                       validators=[DataRequired(message="Give the authority a name."), Length(max=200)])
    schools = SelectMultipleField("Schools", validate_choice=False)
    submit = SubmitField("Create authority")


class AddSchoolForm(FlaskForm):
    urn = SelectField("School", validate_choice=False,
                      validators=[DataRequired(message="Choose a school from the list.")])
    submit = SubmitField("Add school")


class BrokerForm(FlaskForm):
    partnership = SelectField("Partnership", validate_choice=False,
                              validators=[DataRequired(message="Choose a partnership from the list.")])
    started_on = DateField("Started on", validators=[DataRequired(message="Give a date like 2026-09-01.")])
    supported = SelectMultipleField("Supported schools (causing concern)", validate_choice=False)
    supporting = SelectMultipleField("Supporting schools", validate_choice=False)
    submit = SubmitField("Record brokered partnership")


class AddStaffForm(FlaskForm):
    email = EmailField("Email of an existing account with role authority", filters=[_strip],
                       validators=[DataRequired(message="Give an email address."), Length(max=254)])
    submit = SubmitField("Add to staff")


class NewStaffForm(FlaskForm):
    # Not `email`: the page holds AddStaffForm too, and ids must differ.
    new_email = EmailField("Email", filters=[_strip],
                       validators=[DataRequired(message="Give an email address."), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    new_name = StringField("Name", filters=[_strip], validators=[Optional(), Length(max=200)])
    submit = SubmitField("Create account")


class ButtonForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""

    submit = SubmitField("Remove")
