"""Forms of the tracking screens (one per screen; CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectChoice, SelectField, SubmitField

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
