"""The letter to families for a round: the school's name and contact, what the survey is,
who sees the answers, how long they are kept and how to withdraw. One page per school
whose pupils take part; the words are ours, for parents and carers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Pupil, School, SurveyRound
from ..pupil.codes import round_pupil_ids
from .pdf import _Doc
from .queries import sharing_of


@dataclass(frozen=True)
class FamilyLetter:
    school: str
    round_name: str
    survey_title: str
    contact: str
    kept_for: str


def kept_for_words(retention_days: int) -> str:
    """Return "two years" for 730 days, "18 months" for 548: how long after a pupil leaves."""
    years, rest = divmod(retention_days, 365)
    if rest < 15 and years:
        return {1: "one year", 2: "two years", 3: "three years"}.get(years, f"{years} years")
    months = round(retention_days / 30.4)
    return f"{months} months"


def letters_for(session: Session, survey_round: SurveyRound, retention_days: int) -> list[FamilyLetter]:
    """Return one letter per school taking part in the round (the round's own school when
    it has no pupils yet)."""
    ids = round_pupil_ids(session, survey_round)
    schools = list(session.scalars(select(School).where(School.id.in_(
        select(Pupil.school_id).where(Pupil.id.in_(ids)))).order_by(School.name))) if ids else []
    if not schools and survey_round.school_id:
        schools = [session.get(School, survey_round.school_id)]
    contact = sharing_of(session, survey_round).family_contact or ""
    title = survey_round.questionnaire.title
    return [FamilyLetter(s.name, survey_round.name, title, contact or f"The school office at {s.name}",
                         kept_for_words(retention_days)) for s in schools]


def letters_pdf(letters: list[FamilyLetter]) -> bytes:
    """Return the letters as one PDF, a page each."""
    doc = _Doc("Letter to families")
    for letter in letters:
        doc.page()
        doc.heading(letter.school, 16)
        doc.heading("A short survey about how your child feels about school", 13)
        doc.para("Dear parent or carer,")
        doc.para(f"This term your child will be asked to take part in a short survey at school, "
                 f"\u201c{letter.survey_title}\u201d ({letter.round_name}). It asks how they feel about school "
                 "and about learning: whether they feel welcome, ready for lessons, able to do the work and "
                 "keen to keep going when it is hard. It is not a test and there are no right or wrong answers.")
        doc.heading("Why we ask")
        doc.para("Their answers help your child's tutor talk with them about what is going well and what would "
                 "help, and help us plan support. We may share what your child feels good about with you, and "
                 "agree small targets together at a review meeting.")
        doc.heading("Who sees the answers")
        doc.para("Your child's teachers and tutor, and the staff who lead pastoral care and the survey in the "
                 "school. Reports for anyone else, such as governors or the school's trust, only ever show "
                 "numbers for whole groups, never your child's own answers. If your child writes a comment at the "
                 "end, only the school's designated safeguarding lead reads it.")
        doc.heading("How long they are kept")
        doc.para(f"Your child's answers are kept while they are at the school, and erased {letter.kept_for} "
                 "after they leave. You can ask to see them at any time.")
        doc.heading("If you would rather your child did not take part")
        doc.para("Tell us using the contact below. Your child will get no new code and will be left out of later "
                 "surveys. You can choose whether the answers they have already given are kept or erased. "
                 "You do not need to give a reason.")
        doc.heading("Who to contact")
        doc.para(letter.contact)
    if not letters:
        doc.page()
        doc.para("This round has no pupils yet.")
    return doc.output()
