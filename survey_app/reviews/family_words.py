"""The family summary's own words (its headings, the opening sentence, what it says when a
list is empty, the contact line), for the page and the PDF alike, in the current locale:
a caller that shows a summary in another language wraps the call in `in_language()`.

The words go through the Flask-Babel catalogs of the pupil pages (survey_app/translations/,
extracted from this file as babel.cfg says). Staff pages stay English: only the family
summary is rendered in another locale, and only while `in_language()` lasts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import g
from flask_babel import force_locale, gettext

from ..pupil.language import ENGLISH, PupilLanguage
from ..questionnaires.translations import SOURCE_LANGUAGE, LanguageName, language_label
from .sheets import FamilySummary


@dataclass(frozen=True)
class FamilyWords:
    """The summary's fixed words, filled in with the pupil's name and school."""

    title: str
    page_title: str
    intro: str
    good_heading: str
    good_none: str
    working_heading: str
    working_none: str
    targets_heading: str
    help_heading: str
    contact_heading: str
    contact: str


def family_words(summary: FamilySummary) -> FamilyWords:
    """Return the summary's own words in the current locale."""
    name, school = summary.pupil.first_name, summary.school_name
    if summary.contact:
        contact = summary.contact  # (the round's contact, as staff wrote it)
    elif summary.tutors:
        contact = gettext("%(tutors)s at %(school)s", tutors=", ".join(summary.tutors), school=school)
    else:
        contact = gettext("The school office at %(school)s", school=school)
    return FamilyWords(
        title=gettext("%(name)s at %(school)s", name=name, school=school),
        page_title=gettext("%(name)s: family summary", name=name),
        intro=gettext("This page is for %(name)s’s parents and carers. It comes from a short survey "
                      "%(name)s answered about how they feel about school and learning, and from "
                      "talking with their tutor.", name=name),
        good_heading=gettext("What %(name)s feels good about at school", name=name),
        good_none=gettext("Ask %(name)s what has gone well this term: we would like to hear it too.",
                          name=name),
        working_heading=gettext("What %(name)s is working on", name=name),
        working_none=gettext("%(name)s and their tutor will choose this together.", name=name),
        targets_heading=gettext("The targets we agreed"),
        help_heading=gettext("How you can help at home"),
        contact_heading=gettext("Who to contact"),
        contact=contact,
    )


def page_language(summary: FamilySummary) -> PupilLanguage:
    """Return the summary's language as the pupil pages describe one: the page's `lang`,
    `dir` and Flask-Babel locale (English words where a language has no catalog), and the
    choices (English, then the translations the pupil's latest round offers)."""
    choices = [ENGLISH, *(LanguageName(code, tr.language_name, tr.direction)
                          for code, tr in summary.languages.items())]
    return PupilLanguage(summary.language, summary.translation, choices)


@contextmanager
def in_language(language: PupilLanguage) -> Iterator[None]:
    """Render what is inside in `language`'s locale, then go back to the request's own."""
    g.family_summary_language = language.code  # (force_locale does nothing while g is empty)
    with force_locale(language.locale):
        yield


def english_name(code: str) -> str:
    """Return the language's name in English, for the staff member ('Welsh')."""
    return "English" if code == SOURCE_LANGUAGE else language_label(code)
