"""Forms of the schools and pupils screens (one per screen; CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..db import db
from ..models.people import year_label
from .operations import urn_problem
from .pupils import SEN_LABELS, STATUSES, YEAR_GROUPS

YEAR_MESSAGE = "Choose a year group from Reception to Year 14."


def _year_or_none(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(YEAR_MESSAGE) from None


class YearGroupField(SelectField):
    """A year group select (Reception = 0) that answers a bad value in plain words."""

    def __init__(self, *args, allow_blank: bool = False, **kwargs):
        super().__init__(*args, coerce=_year_or_none, **kwargs)
        self.allow_blank = allow_blank

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = _year_or_none(valuelist[0])

    def pre_validate(self, form):
        if self.process_errors or (self.data is None and self.allow_blank):
            return
        if self.data not in YEAR_GROUPS:
            raise ValidationError(YEAR_MESSAGE)


def year_choices(blank: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(y, year_label(y)) for y in YEAR_GROUPS]
    return ([SelectChoice("", blank)] if blank is not None else []) + choices


class SchoolForm(FlaskForm):
    name = StringField("School name", validators=[DataRequired("Give the school's name."),
                                                  Length(max=200)])
    urn = StringField("URN", validators=[DataRequired("Give the school's URN.")],
                      render_kw={"inputmode": "numeric", "autocomplete": "off"})
    partnership = SelectField("Partnership", coerce=int)
    submit = SubmitField("Save school")

    def validate_urn(self, field):
        field.data = (field.data or "").strip()
        if problem := urn_problem(db.session, field.data, getattr(self, "school_id", None)):
            raise ValidationError(problem)


class PupilForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired("Give the pupil's first name."),
                                                       Length(max=100)])
    surname = StringField("Surname", validators=[DataRequired("Give the pupil's surname."), Length(max=100)])
    year_group = YearGroupField("Year group", choices=year_choices())
    reg_group = StringField("Reg group", validators=[Optional(), Length(max=20)])
    gender = SelectField("Gender")
    sen = SelectField("SEN", choices=[SelectChoice(k, f"{k}: {v}") for k, v in SEN_LABELS.items()],
                      validate_choice=False)
    fsm = BooleanField("Eligible for free school meals (FSM)")
    eal = BooleanField("English as an additional language (EAL)")
    # Choices: the flags this user may set on this pupil (set by the route).
    flag_ids = SelectMultipleField("Flags", coerce=int, invalid_choice_message="Choose from the flags listed.")
    left_on = DateField("Left the school on (optional)", validators=[Optional()], format=["%Y-%m-%d", "%d/%m/%Y"],
                        invalid_value_message="Enter a date such as 2026-07-22 (or 22/07/2026).")
    shared_with_partnership = BooleanField("Share this pupil's answers and scores with the partnership's leads")
    submit = SubmitField("Save changes")

    # The school's date today (set by the route): a leaving date may not be after it.
    today = None

    def validate_sen(self, field):
        if field.data not in SEN_LABELS:
            raise ValidationError("Choose N (none), K (SEN support) or E (EHC plan).")

    def validate_left_on(self, field):
        if field.data and self.today is not None and field.data > self.today:
            raise ValidationError("The leaving date cannot be in the future. Enter it on or after the "
                                  "day the pupil leaves.")


GENDER_CHOICES = [SelectChoice("", "Not recorded"), SelectChoice("Female"), SelectChoice("Male")]


class ButtonForm(FlaskForm):
    """A POST button (archive, cancel): only the CSRF token."""

    submit = SubmitField("Go")


class PupilSearchForm(FlaskForm):
    """The pupil list's filters, read from the query string (a GET changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField("Name or UPN", validators=[Optional(), Length(max=100)])
    year = YearGroupField("Year group", choices=year_choices("Any year"), allow_blank=True)
    reg = SelectField("Reg group", validate_choice=False)
    status = SelectField("Show", choices=[SelectChoice(k, v) for k, v in STATUSES.items()],
                         default="current")
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, message="Pages start at 1.")])

    def validate_reg(self, field):
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose a reg group from the list.")


def _strip_text(value):
    return value.strip() if isinstance(value, str) else value


class UploadRosterForm(FlaskForm):
    # Any id is accepted here: the route looks it up through the Scope (404 when out of view).
    school = SelectField("School", coerce=int, validate_choice=False)
    roster = FileField("Roster file (CSV, OneRoster ZIP or CTF XML)",
                       validators=[FileRequired("Choose the CSV file to import.")],
                       render_kw={"accept": ".csv,text/csv,.zip,application/zip,.xml,text/xml"})
    upn_field = StringField("OneRoster only: the users.csv column holding the UPN", filters=[_strip_text],
                            validators=[Optional(), Length(max=60)])
    classes_as_groups = BooleanField("OneRoster only: make each class a group and add its students to it")
    submit = SubmitField("Upload and check")


class ConfirmImportForm(FlaskForm):
    digest = HiddenField()
    submit = SubmitField("Import")
