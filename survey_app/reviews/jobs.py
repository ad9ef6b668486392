"""A group's review pack (every pupil's conversation sheet, or every family summary, as
one PDF), made by the job queue's worker (survey_app/jobs/), never in a web process: a
pack for a year group of 300 pupils takes a while. Progress goes on the job's page.

Family summaries can be made in another language the PDF draws (`pack_languages`): each
pupil's summary is in it when the pupil's latest round offers it, else in English."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.scope import Scope
from ..audit.log import record_export
from ..jobs import JobContext, JobRefused, JobResult, task
from ..models import Group, StaffUser, SurveyRound
from ..models.base import utcnow
from ..models.surveys import round_groups
from ..pupil.language import ENGLISH
from ..questionnaires.store import definition_of
from ..questionnaires.translations import SOURCE_LANGUAGE, LanguageName, translations_of, usable_languages
from .pdf import family_pdf, pdf_can_draw, sheets_pdf
from .queries import group_pupils
from .sheets import conversation_sheet, family_summary_or_english

PACK = "reviews.pack"
KINDS = {"sheet": "Conversation sheets", "family": "Family summaries"}


def pack_languages(session: Session, group: Group, questionnaire_dir: str | Path) -> dict[str, LanguageName]:
    """Return the languages a group's family summaries can be made in, by code: English,
    then those a round of the group offers (drafts only where it allows them) that the
    PDF can draw."""
    found: dict[str, LanguageName] = {SOURCE_LANGUAGE: ENGLISH}
    rounds = session.scalars(select(SurveyRound).join(round_groups, round_groups.c.round_id == SurveyRound.id)
                             .where(round_groups.c.group_id == group.id).order_by(SurveyRound.id)).all()
    for survey_round in rounds:
        if not survey_round.languages:
            continue
        offered = usable_languages(translations_of(questionnaire_dir, definition_of(survey_round.questionnaire)),
                                   survey_round.languages, survey_round.allow_draft_languages)
        for code, tr in offered.items():
            if pdf_can_draw(code):
                found.setdefault(code, LanguageName(code, tr.language_name, tr.direction))
    return found


@task(PACK, max_attempts=3, label="Review pack")
def review_pack(context: JobContext, group_id: int, kind: str, lang: str = SOURCE_LANGUAGE) -> JobResult:
    """Return the PDF of `kind` ("sheet" or "family") for the pupils of group `group_id`
    that the asker may see one by one, family summaries in `lang` where each pupil's
    latest round offers it (else English); refuses (JobRefused) a group they can no longer
    see, or a language the PDF cannot draw."""
    session, progress = context.session, context.progress
    staff = session.get(StaffUser, context.job.staff_id)
    if staff is None or not staff.active:
        raise JobRefused("The account that asked for this pack is no longer active.")
    if kind not in KINDS:
        raise JobRefused(f"There is no review pack of the kind '{kind}'.")
    if not pdf_can_draw(lang):
        raise JobRefused("The PDF cannot draw that language's script: print each pupil's family "
                         "summary page from the browser instead.")
    scope = Scope(staff)
    group = session.scalar(select(Group).where(Group.id == group_id, scope.group_condition()))
    if group is None:
        raise JobRefused("That group is no longer one you can see.")
    pupils = group_pupils(session, group, scope)
    now, total = utcnow(), max(len(pupils), 1)
    threshold = int(current_app.config.get("SUPPRESSION_THRESHOLD", 5))
    title = f"{KINDS[kind]}: {group.name}"
    made = []
    directory = current_app.config["QUESTIONNAIRE_DIR"]
    for i, pupil in enumerate(pupils, start=1):
        made.append(conversation_sheet(session, pupil, now, scope, threshold) if kind == "sheet"
                    else family_summary_or_english(session, pupil, now, lang, directory))
        if i % 10 == 0 or i == len(pupils):
            session.commit()
            progress(0.8 * i / total, f"{i} of {len(pupils)} pupils read")
    data = (sheets_pdf(made, title=title) if kind == "sheet" else family_pdf(made, title=title))
    what = f"review pack ({kind}, PDF)" if lang == SOURCE_LANGUAGE else f"review pack ({kind}, {lang}, PDF)"
    record_export(session, staff.id, what, group_id=group.id, pupils=len(pupils))
    session.commit()
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in group.name).strip("-") or "group"
    suffix = "" if lang == SOURCE_LANGUAGE else f"-{lang}"
    return JobResult(filename=f"{kind}s-{safe}{suffix}.pdf", mimetype="application/pdf", data=data)
