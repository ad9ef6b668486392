"""Forms of the reviews pages (one per screen)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..models.reviews import TARGET_AREAS, TARGET_OUTCOMES
from .wording import AREA_WORDS as AREA_LABELS
from .wording import OUTCOME_WORDS as OUTCOME_LABELS

WHO_CAME_CHOICES = ("pupil", "parent or carer", "tutor", "other")
MAX_STEPS = 5


class SharingForm(FlaskForm):
    """A round's settings for pupils and families."""

    show_results = BooleanField(
        "Show pupils \u201cMy results\u201d after they finish (and at sign-in while the round is open)")
    pupil_voice = BooleanField(
        "Ask pupils at the end: \u201cIs there anything else you would like your teacher to know?\u201d")
    safeguarding_lead = SelectField("Designated safeguarding lead (reads every comment)", coerce=int)
    family_contact = TextAreaField("Who families contact (name, role, email or phone)", validators=[
        Optional(), Length(max=500)], render_kw={"rows": 2})
    submit = SubmitField("Save")

    def validate_safeguarding_lead(self, field):
        if self.pupil_voice.data and not field.data:
            raise ValidationError("Name the designated safeguarding lead before asking pupils for comments.")


class TargetForm(FlaskForm):
    """A target and its ladder of steps, entered in the meeting or afterwards."""

    area = SelectField("Area", choices=[SelectChoice(a, AREA_LABELS[a]) for a in TARGET_AREAS])
    detail = StringField("Subject or attitude (for those areas)", validators=[Length(max=100)])
    words = TextAreaField("The target, in the words agreed", validators=[
        DataRequired("Write the target in the words you agreed."), Length(max=1000)], render_kw={"rows": 2})
    agreed_pupil = BooleanField("Pupil")
    agreed_tutor = BooleanField("Tutor")
    agreed_parent = BooleanField("Parent or carer")
    step_1 = StringField("Step 1", validators=[Optional(), Length(max=300)])
    step_2 = StringField("Step 2", validators=[Optional(), Length(max=300)])
    step_3 = StringField("Step 3", validators=[Optional(), Length(max=300)])
    step_4 = StringField("Step 4", validators=[Optional(), Length(max=300)])
    step_5 = StringField("Step 5", validators=[Optional(), Length(max=300)])
    review_on = DateField("Review date", validators=[DataRequired("Give the date it will be reviewed.")])
    submit = SubmitField("Save the target")

    def steps(self) -> list[str]:
        return [s for s in (getattr(self, f"step_{i}").data for i in range(1, MAX_STEPS + 1)) if s and s.strip()]

    def validate_detail(self, field):
        if self.area.data in ("subject", "factor") and not (field.data or "").strip():
            raise ValidationError("Name the subject or the attitude.")

    def validate_agreed_parent(self, field):
        if not (self.agreed_pupil.data or self.agreed_tutor.data or field.data):
            raise ValidationError("Tick who agreed the target.")


class ReviewTargetForm(FlaskForm):
    """Ticking steps and recording the outcome at review."""

    outcome = SelectField("Outcome", choices=[SelectChoice("", "Not reviewed yet")]
                          + [SelectChoice(o, OUTCOME_LABELS[o]) for o in TARGET_OUTCOMES])
    submit = SubmitField("Save the review")


class WithdrawForm(FlaskForm):
    """Recording a family's withdrawal of their child from the survey."""

    answers = RadioField("The answers already given", choices=[
        SelectChoice("kept", "Keep them (they stay in the reports of earlier rounds)"),
        SelectChoice("erased", "Erase them (they leave every report)")],
        validators=[DataRequired("Choose whether the answers already given are kept or erased.")])
    note = TextAreaField("Note (who asked, and when)", validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
    submit = SubmitField("Record the withdrawal")


class ReviewDayForm(FlaskForm):
    """Setting up a review day for some groups of a school."""

    school = SelectField("School", coerce=int)
    name = StringField("Name", validators=[Optional(), Length(max=200)], render_kw={"placeholder": "Autumn review day"})
    held_on = DateField("Date", validators=[DataRequired("Give the date of the review day.")])
    starts_at = StringField("First slot starts at", default="08:45", validators=[
        DataRequired("Give the time of the first slot."),
        Length(max=5, message="Give the first slot's time as hours and minutes, like 08:45.")])
    slot_minutes = IntegerField("Minutes per slot", default=15, validators=[
        DataRequired("Give the length of a slot."), NumberRange(5, 60, "A slot lasts between 5 and 60 minutes.")])
    groups = SelectMultipleField("Groups", coerce=int, validators=[DataRequired("Choose at least one group.")])
    submit = SubmitField("Set up the review day")


class MeetingForm(FlaskForm):
    """Marking one meeting of a review day."""

    held = BooleanField("Held")
    who_came = SelectMultipleField("Who came", choices=[SelectChoice(w, w) for w in WHO_CAME_CHOICES])
    submit = SubmitField("Save")


class WordsForm(FlaskForm):
    """A school's safeguarding words, one per line."""

    words = TextAreaField("Words and phrases, one on each line", validators=[Length(max=20000)],
                          render_kw={"rows": 12})
    submit = SubmitField("Save the list")
