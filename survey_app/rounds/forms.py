"""Forms of the survey-round screens. Choices that depend on the user are set by the route."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..models import MODES, PHASES
from ..questionnaires import Questionnaire
from .operations import MODE_LABELS, NAME_MAX, NAME_MIN, PHASE_LABELS

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


# ----- paper answers -------------------------------------------------------------------

NO_ANSWER = ""
_form_classes: dict[str, type[FlaskForm]] = {}


def field_name(index: int) -> str:
    """Return the form field name of the statement at `index` (0-based), as the pupil form does."""
    return f"q{index + 1}"


def paper_form_class(q: Questionnaire) -> type[FlaskForm]:
    """Return a FlaskForm class with one radio group per statement of `q` (cached).

    Each group offers the scale and "No answer"; every field is optional.
    """
    cls = _form_classes.get(q.content_hash)
    if cls is not None:
        return cls
    choices = [SelectChoice(str(o.value), o.label) for o in q.scale] + [SelectChoice(NO_ANSWER, "No answer")]
    attrs: dict = {
        field_name(i): RadioField(s.text, choices=choices, validators=[Optional()])
        for i, s in enumerate(q.statements)
    }
    attrs["save"] = SubmitField("Save")
    attrs["finish"] = SubmitField("Save and mark finished")
    cls = type(f"PaperForm_{q.key}", (FlaskForm,), attrs)
    _form_classes[q.content_hash] = cls
    return cls


class UploadForm(FlaskForm):
    file = FileField("Paper-answers file (CSV)", validators=[FileRequired("Choose a CSV file to upload.")])
    submit = SubmitField("Upload and check")


class ConfirmImportForm(FlaskForm):
    digest = HiddenField()
    submit = SubmitField("Import")


class CancelForm(FlaskForm):
    submit = SubmitField("Cancel")



class LanguagesForm(FlaskForm):
    """The languages a round offers besides English (choices set by the route)."""

    languages = SelectMultipleField("Languages offered besides English", validators=[Optional()])
    allow_drafts = BooleanField("Draft translations may be used (nobody has reviewed them yet)")
    submit = SubmitField("Save languages")
