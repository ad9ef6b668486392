"""Forms of the pupil's screens; the answer form is built from the questionnaire."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..questionnaires import Questionnaire


class CodeForm(FlaskForm):
    code = StringField(
        _l("Your code"),
        validators=[
            DataRequired(_l("Type the code from your slip.")),
            Length(max=40, message=_l("A code is 8 letters and numbers, like ABCD-EFGH.")),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
                   "inputmode": "text", "maxlength": "40"},
    )
    submit = SubmitField(_l("Start"))


class ConfirmForm(FlaskForm):
    yes = SubmitField(_l("Yes, this is me"))
    no = SubmitField(_l("No, this is not me"))


class SignOutForm(FlaskForm):
    reason = HiddenField(default="later", validators=[AnyOf(["later", "idle"])])
    submit = SubmitField(_l("Finish for now"))


class ModeForm(FlaskForm):
    mode = HiddenField(validators=[AnyOf(["single", "page"])])
    at = HiddenField(default="1")
    submit = SubmitField("Switch")


class FinishForm(FlaskForm):
    # Pupil voice: read only when the round asks its question (RoundReviewSettings.pupil_voice).
    comment = TextAreaField(validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Finish the survey"))


_form_classes: dict[str, type[FlaskForm]] = {}

NAV_CHOICES = ("back", "next", "check", "later")


def field_name(index: int) -> str:
    """Return the form field name of the statement at `index` (0-based)."""
    return f"q{index + 1}"


def answer_form_class(q: Questionnaire) -> type[FlaskForm]:
    """Return a FlaskForm class with one radio field per statement of `q` (cached).

    Every field is optional: a pupil may skip a statement and come back to it.
    """
    cls = _form_classes.get(q.content_hash)
    if cls is not None:
        return cls
    choices = [SelectChoice(o.value, o.label) for o in q.scale]
    attrs: dict = {}
    for index, statement in enumerate(q.statements):
        attrs[field_name(index)] = RadioField(
            statement.text,
            choices=choices,
            coerce=int,
            validators=[Optional()],
        )
    cls = type(f"AnswerForm_{q.key}", (FlaskForm,), attrs)
    _form_classes[q.content_hash] = cls
    return cls


_TOO_LONG = _l("Please keep this to 1000 letters or fewer.")


class HopesForm(FlaskForm):
    """"My results": what the pupil hopes for and one thing to get better at."""

    hopes = TextAreaField(_l("What I hope for"), validators=[Optional(), Length(max=1000, message=_TOO_LONG)],
                          render_kw={"rows": 3, "maxlength": "1000"})
    better_at = TextAreaField(_l("One thing I want to get better at"),
                              validators=[Optional(), Length(max=1000, message=_TOO_LONG)],
                              render_kw={"rows": 2, "maxlength": "1000"})
    submit = SubmitField(_l("Save for my tutor"))

    def validate(self, extra_validators=None) -> bool:
        # (Optional() ends a field's own checks when it is empty, so the pair is checked here.)
        if not super().validate(extra_validators):
            return False
        if not (self.hopes.data or "").strip() and not (self.better_at.data or "").strip():
            self.hopes.errors = [*self.hopes.errors,
                                 _l("Write something in at least one of the boxes, then press Save.")]
            return False
        return True
