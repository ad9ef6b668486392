"""The words survey.js shows (the saving status, and the autosave's refusals), and the
service worker's page for a form sent offline, translated for the pupil's page.

The scripts look each message up by its English text, with any number in it written as
{n}; a message missing here is shown in English. The autosave answers in English (it
works out no language: pupil/language.py), so every message it can send is here too.
The service worker reads these from the survey page it keeps (survey-sw.js).
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
    # The autosave's refusals (pupil/answers.py, pupil/routes.py, errors.py), shown by survey.js.
    "No answers were sent.": _l("No answers were sent."),
    "Too many answers in one save.": _l("Too many answers in one save."),
    "Each answer needs a statement and a value.": _l("Each answer needs a statement and a value."),
    "That statement is not part of this survey.": _l("That statement is not part of this survey."),
    "That answer is not one of the choices.": _l("That answer is not one of the choices."),
    "The answer's order number is not valid.": _l("The answer's order number is not valid."),
    "You have already finished this survey, so answers cannot change.":
        _l("You have already finished this survey, so answers cannot change."),
    "This survey has closed. The answers you gave before it closed are kept.":
        _l("This survey has closed. The answers you gave before it closed are kept."),
    "You have been signed out. Sign in again with your code: the answers on this screen will be sent then.":
        _l("You have been signed out. Sign in again with your code: the answers on this screen will be "
           "sent then."),
    "Too much was sent at once. Nothing was saved.": _l("Too much was sent at once. Nothing was saved."),
    "The answers could not be read. Nothing was saved.": _l("The answers could not be read. Nothing was saved."),
    "These answers belong to a different sign-in, so they were not saved.":
        _l("These answers belong to a different sign-in, so they were not saved."),
    "This page had expired or was opened from somewhere else, so nothing was changed. Please go back, "
    "reload the page and try again.": _l("This page had expired or was opened from somewhere else, so "
                                         "nothing was changed. Please go back, reload the page and try again."),
    # The service worker's page for a form sent offline (survey-sw.js).
    "No connection": _l("No connection"),
    "No connection just now": _l("No connection just now"),
    "This computer cannot reach the survey at the moment, so that was not sent.":
        _l("This computer cannot reach the survey at the moment, so that was not sent."),
    "Your answers are kept on this computer. When the connection is back, go back and press the button "
    "again.": _l("Your answers are kept on this computer. When the connection is back, go back and press "
                 "the button again."),
    "Back to the survey": _l("Back to the survey"),
}


def script_strings() -> dict[str, str]:
    """Return {English message: the message in this page's language} for survey.js."""
    return {english: str(text) for english, text in MESSAGES.items()}
