"""Forms of the pupil-flag screens. Choices that depend on the user are set by the route."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .operations import DESCRIPTION_MAX, NAME_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def int_or_none(value):
    """Coerce a select's value: '' (any) is None, anything else must be a whole number."""
    if value in ("", None):
        return None
    return int(value)


class FlagForm(FlaskForm):
    """Rename or describe a flag."""

    name = StringField("Name", filters=[_strip],
                       validators=[DataRequired("Give the flag a name."), Length(max=NAME_MAX)],
                       render_kw={"autocomplete": "off"})
    description = TextAreaField("What it means (optional)", filters=[_strip],
                                validators=[Optional(), Length(max=DESCRIPTION_MAX)],
                                render_kw={"rows": 3})
    submit = SubmitField("Save changes")


class NewFlagForm(FlagForm):
    owner = SelectField("Belongs to", validators=[DataRequired("Choose who the flag belongs to.")],
                        invalid_choice_message="Choose your partnership or one of your schools.")
    submit = SubmitField("Create flag")


class ButtonForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""

    submit = SubmitField("Confirm")


class PupilSelectionForm(FlaskForm):
    """Ticked pupils (to set the flag on, or to take it off)."""

    pupil_ids = SelectMultipleField("Pupils", coerce=int, validate_choice=False,
                                    invalid_value_message="Something was wrong with the ticked pupils.")


class CandidateSearchForm(FlaskForm):
    """The filters of the list of pupils to add (GET, nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Name or UPN", filters=[_strip], validators=[Optional(), Length(max=100)],
                    render_kw={"type": "search", "autocomplete": "off"})
    school = SelectField("School", coerce=int_or_none, default=None,
                         invalid_choice_message="Choose one of the schools listed.")
    year = SelectField("Year group", coerce=int_or_none, default=None,
                       invalid_choice_message="Choose one of the year groups listed.")
