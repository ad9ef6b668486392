"""Forms of the group screens. Choices that depend on the user are set by the route."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from .operations import KINDS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def int_or_none(value):
    """Coerce a select's value: '' (any) is None, anything else must be a whole number."""
    if value in ("", None):
        return None
    return int(value)


class GroupForm(FlaskForm):
    name = StringField("Name", filters=[_strip],
                       validators=[DataRequired(message="Give the group a name."), Length(max=200)])
    kind = SelectField("Kind", choices=[SelectChoice(k, v) for k, v in KINDS.items()], default="programme",
                       invalid_choice_message="Choose programme or class.")
    description = TextAreaField("Description (optional)", filters=[_strip],
                                validators=[Optional(), Length(max=2000)])
    owner = SelectField("Belongs to", validators=[DataRequired(message="Choose who the group belongs to.")],
                        invalid_choice_message="Choose your partnership or one of your schools.")
    lead_id = SelectField("Lead teacher", coerce=int, default=0,
                          invalid_choice_message="Choose a lead teacher from the list.")
    staff_ids = SelectMultipleField("Other staff", coerce=int,
                                    invalid_choice_message="Choose staff from the list.")
    submit = SubmitField("Save group")


class ButtonForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""

    submit = SubmitField("Confirm")


class PupilSelectionForm(FlaskForm):
    """Ticked pupils (add from search results, or remove from the group)."""

    pupil_ids = SelectMultipleField("Pupils", coerce=int, validate_choice=False,
                                    invalid_value_message="Something was wrong with the ticked pupils.")


class ClassAddForm(FlaskForm):
    school_id = SelectField("School", coerce=int, invalid_choice_message="Choose one of the schools listed.")
    year_group = SelectField("Year group", coerce=int_or_none, default=None,
                             invalid_choice_message="Choose one of the year groups listed.")
    reg_group = StringField("Registration group (optional)", filters=[_strip],
                            validators=[Optional(), Length(max=20)],
                            render_kw={"list": "reg-groups", "autocomplete": "off"})
    submit = SubmitField("Add all of them")


class SearchForm(FlaskForm):
    """The pupil search (GET, nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Name or UPN", filters=[_strip], validators=[Optional(), Length(max=100)],
                    render_kw={"type": "search", "autocomplete": "off"})
    school = SelectField("School", coerce=int_or_none, default=None)
    year = SelectField("Year group", coerce=int_or_none, default=None)
