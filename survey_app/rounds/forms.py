"""Forms of the survey-round screens. Choices that depend on the user are set by the route."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..models import MODES, PHASES
from ..services.rounds import MODE_LABELS, NAME_MAX, NAME_MIN, PHASE_LABELS

MODE_HINTS = {
    "single": "large type, one at a time: best for younger pupils and weaker readers",
    "page": "several statements on each page: quicker for confident readers",
}


class LocalDateTimeField(DateTimeLocalField):
    """A date and time as the school's clock shows it (the route converts it to UTC).

    Browsers without a date-time picker show a text box, so '14/03/2026 09:00' works too.
    """

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(
            label, validators,
            format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S"],
            invalid_value_message="Give a date and a time, like 14/03/2026 09:00.", **kwargs,
        )


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class RoundForm(FlaskForm):
    """What a round is: name, phase, dates, groups and how pupils answer."""

    name = StringField(
        "Name of the round",
        validators=[DataRequired("Give the round a name."),
                    Length(min=NAME_MIN, max=NAME_MAX,
                           message=f"Give the round a name of {NAME_MIN} to {NAME_MAX} characters.")],
        filters=[_strip],
        render_kw={"autocomplete": "off", "maxlength": str(NAME_MAX)},
    )
    phase = SelectField("Phase", choices=[SelectChoice(p, PHASE_LABELS[p]) for p in PHASES], default="before")
    opens_at = LocalDateTimeField("Opens", validators=[InputRequired("Give the opening date and time.")])
    closes_at = LocalDateTimeField("Closes", validators=[InputRequired("Give the closing date and time.")])
    groups = SelectMultipleField("Groups taking part", coerce=int,
                                 validators=[DataRequired("Choose at least one group.")])
    mode = RadioField(
        "How pupils see the statements",
        choices=[SelectChoice(m, MODE_LABELS[m]) for m in MODES], default="page",
        validators=[DataRequired("Choose how pupils see the statements.")],
    )
    allow_finish_later = BooleanField("Pupils may stop and finish later with the same code",
                                      default=True)


class NewRoundForm(RoundForm):
    questionnaire = SelectField("Questionnaire", coerce=int,
                                validators=[DataRequired("Choose a questionnaire.")])
    # Only administrators choose; a lead's rounds belong to their partnership or school.
    owner = SelectField("Belongs to", validators=[Optional()])
    submit = SubmitField("Create the round and its codes")


class EditRoundForm(RoundForm):
    submit = SubmitField("Save changes")


class ExtendForm(FlaskForm):
    closes_at = LocalDateTimeField("New closing date and time",
                                   validators=[InputRequired("Give the new closing date and time.")])
    submit = SubmitField("Extend")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""

