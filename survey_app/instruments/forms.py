"""Forms of the instruments area: one per screen."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, Optional, Regexp

from ..models.media import SIGN_LANGUAGES
from .media_check import LANGUAGE_CODE

SIGN_LANGUAGE_NAMES = {"bsl": "British Sign Language (BSL)", "isl": "Irish Sign Language (ISL)",
                       "asl": "American Sign Language (ASL)"}


class MediaUploadForm(FlaskForm):
    """Upload one ZIP of recorded audio or of sign-language video for one instrument."""

    instrument = SelectField("Questionnaire", validators=[DataRequired("Choose the questionnaire.")])
    kind = SelectField("What the ZIP holds", choices=[
        SelectChoice("sign", "Sign-language videos (MP4, WebM)"),
        SelectChoice("audio", "Recorded audio (MP3, M4A, Ogg, WAV, WebM)"),
    ], validators=[AnyOf(["sign", "audio"], message="Choose videos or audio.")])
    sign_language = SelectField("Sign language (for videos)", choices=[
        SelectChoice(code, SIGN_LANGUAGE_NAMES[code]) for code in SIGN_LANGUAGES])
    audio_language = StringField(
        "Language of the audio (optional: each file name says it)",
        validators=[Optional(), Regexp(LANGUAGE_CODE.pattern, message="A language code is 2 or 3 small "
                                       "letters, like cy, pl or ur.")],
        filters=[lambda v: (v or "").strip().lower()], render_kw={"maxlength": "20", "spellcheck": "false"})
    archive = FileField("ZIP file", validators=[FileRequired("Choose the ZIP file to upload.")])
    submit = SubmitField("Check and upload")


class MediaRemoveForm(FlaskForm):
    """Remove one set: every file of an instrument, kind and language."""

    instrument = HiddenField(validators=[DataRequired()])
    kind = HiddenField(validators=[AnyOf(["sign", "audio"])])
    language = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Remove")
