"""Forms of the teachers' views."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

INTERVENTION_TYPES = [
    "", "Mentoring", "Small-group work", "One-to-one tuition", "Reading support", "Attendance plan",
    "Pastoral support", "Counselling", "Study skills", "Enrichment", "Other",
]


class SupportForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice("note", "Note"), SelectChoice("intervention", "Intervention")])
    intervention_type = SelectField(
        "Type of intervention", choices=[SelectChoice(t, t or "(not an intervention)") for t in INTERVENTION_TYPES],
    )
    text = TextAreaField("What happened or what is planned", validators=[
        DataRequired("Write a few words."), Length(max=4000)])
    starts_on = DateField("Date (or start)", validators=[DataRequired("Give a date.")])
    ends_on = DateField("End (interventions, optional)", validators=[Optional()])
    submit = SubmitField("Save")

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The end must not be before the start.")

    def validate_intervention_type(self, field):
        if self.kind.data == "intervention" and not field.data:
            raise ValidationError("Choose the type of intervention.")
