"""Forms of the tracking screens (one per screen; CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..models.tracking import INTERVENTION_KINDS, INTERVENTION_STATUSES
from .operations import MEASURES

KIND_CHOICES = [SelectChoice("attainment", "Attainment (results, targets, predictions)"),
                SelectChoice("attendance", "Attendance")]


class UploadTrackingForm(FlaskForm):
    # Any school id is accepted here: the route looks it up through the Scope (404 when out of view).
    school = SelectField("School", coerce=int, validate_choice=False)
    kind = SelectField("What the file holds", choices=KIND_CHOICES)
    upload = FileField("File (CSV)", validators=[FileRequired("Choose the CSV file to import.")],
                       render_kw={"accept": ".csv,text/csv"})
    submit = SubmitField("Upload and check")


class ConfirmForm(FlaskForm):
    digest = HiddenField()
    submit = SubmitField("Import")


class ButtonForm(FlaskForm):
    """A POST button (cancel): only the CSRF token."""

    submit = SubmitField("Go")


FACTORS = [
    ("feelings_about_school", "Feelings about school"),
    ("perceived_learning_capability", "Perceived learning capability"),
    ("self_regard", "Self-regard as a learner"),
    ("preparedness_for_learning", "Preparedness for learning"),
    ("attitudes_to_teachers", "Attitudes to teachers"),
    ("general_work_ethic", "General work ethic"),
    ("confidence_in_learning", "Confidence in learning"),
    ("attitudes_to_attendance", "Attitudes to attendance"),
    ("response_to_curriculum", "Response to curriculum demands"),
]
FACTOR_NAMES = dict(FACTORS)


class InterventionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the intervention a title."), Length(max=200)])
    kind = SelectField("Kind", choices=[SelectChoice(k, k.capitalize()) for k in INTERVENTION_KINDS])
    school = SelectField("School (the group's pupils at this school take part)", coerce=int, validate_choice=False)
    factors = SelectMultipleField("Factors it targets", choices=[SelectChoice(k, n) for k, n in FACTORS],
                                  widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    subjects = StringField("Subjects it targets (separate with commas)", validators=[Length(max=300)])
    attendance = BooleanField("It targets attendance")
    owner = SelectField("Owner", coerce=int, validate_choice=False)
    starts_on = DateField("Start", validators=[DataRequired("Give the start date.")])
    review_on = DateField("Review on", validators=[DataRequired("Give a review date.")])
    ends_on = DateField("End (optional)", validators=[Optional()])
    success_criterion = TextAreaField("What success looks like, in the school's words", validators=[
        DataRequired("Say what success looks like."), Length(max=2000)])
    measure = SelectField("A measurable criterion (optional)",
                          choices=[SelectChoice(k, v) for k, v in MEASURES.items()])
    measure_factor = SelectField("Factor of the criterion", choices=[SelectChoice("", "(none)")] + [
        SelectChoice(k, n) for k, n in FACTORS])
    measure_value = FloatField("Value of the criterion", validators=[Optional()])
    submit = SubmitField("Save the intervention")


class NoteForm(FlaskForm):
    noted_on = DateField("Date", validators=[DataRequired("Give the date.")])
    text = TextAreaField("Note", validators=[DataRequired("Write a few words."), Length(max=4000)])
    submit = SubmitField("Add the note")


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[SelectChoice(s, s.capitalize()) for s in INTERVENTION_STATUSES])
    review_on = DateField("Next review", validators=[Optional()])
    ends_on = DateField("End", validators=[Optional()])
    submit = SubmitField("Save")
