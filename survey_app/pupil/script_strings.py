"""The words survey.js shows (the saving status), translated for the pupil's page.

The script looks each message up by its English text, with any number in it written as
{n}; a message missing here is shown in English.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

MESSAGES = {
    "Saving…": _l("Saving…"),
    "Saved": _l("Saved"),
    "Connection back: all your answers are saved.": _l("Connection back: all your answers are saved."),
    "Sending answers from earlier…": _l("Sending answers from earlier…"),
    "An answer could not be saved. Please choose it again.":
        _l("An answer could not be saved. Please choose it again."),
    "Your answers could not be saved.": _l("Your answers could not be saved."),
    "Not sent yet: waiting for the connection. {n} answer is kept on this computer and will be "
    "sent when it comes back.": _l("Not sent yet: waiting for the connection. {n} answer is kept on "
                                   "this computer and will be sent when it comes back."),
    "Not sent yet: waiting for the connection. {n} answers are kept on this computer and will be "
    "sent when it comes back.": _l("Not sent yet: waiting for the connection. {n} answers are kept on "
                                   "this computer and will be sent when it comes back."),
    "Your last answers are not sent yet. Please wait for the connection, then press the button again.":
        _l("Your last answers are not sent yet. Please wait for the connection, then press the "
           "button again."),
    "Your last answers are not sent yet. Please wait for the connection before you leave.":
        _l("Your last answers are not sent yet. Please wait for the connection before you leave."),
}


def script_strings() -> dict[str, str]:
    """Return {English message: the message in this page's language} for survey.js."""
    return {english: str(text) for english, text in MESSAGES.items()}
