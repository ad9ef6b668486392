"""Conversation sheets and family summaries: a pupil with two rounds, hopes and targets;
no number from the scores for families; the batch commands and their PDFs."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from pypdf import PdfReader

from survey_app.db import db
from survey_app.models import AuditEvent, FactorScore, SurveyRound
from survey_app.models.base import utcnow
from survey_app.models.reviews import PupilHope, Target, TargetStep
from tests.conftest import csrf_from, login_as
from tests.reviews.support import finish_with_levels

BEFORE = {"preparedness_for_learning": 1, "perceived_learning_capability": 4, "general_work_ethic": 2}
AFTER = {"preparedness_for_learning": 3, "perceived_learning_capability": 4, "general_work_ethic": 1}


def two_rounds(sw):
    """Pupil 0 of the staff world answers "Before" and then "During", writes hopes, has a target."""
    pupil = sw.pupils[0]
    pupil.first_name = "Ada"  # (the test names hold digits; a family page must hold none)
    finish_with_levels(sw, sw.round, pupil, BEFORE)
    sw.round.closes_at = utcnow() - timedelta(hours=1)
    sw.round.opens_at = utcnow() - timedelta(days=30)
    now = utcnow()
    during = SurveyRound(name="During", phase="during", questionnaire_version_id=sw.version.id,
                         opens_at=now - timedelta(minutes=50), closes_at=now + timedelta(days=5), mode="page",
                         partnership_id=sw.partnership.id, groups=[sw.group])
    db.session.add(during)
    db.session.commit()
    finish_with_levels(sw, during, pupil, AFTER)
    db.session.add(PupilHope(pupil_id=pupil.id, round_id=during.id, hopes="To be a nurse", better_at="Fractions"))
    db.session.add(Target(pupil_id=pupil.id, area="attendance", words="Be in school every day", agreed_pupil=True,
                          review_on=now.date(), outcome="met", reviewed_on=now.date(),
                          steps=[TargetStep(position=1, words="Alarm at seven", done_on=now.date())]))
    db.session.add(Target(pupil_id=pupil.id, area="homework", words="Homework club on Tuesdays", agreed_tutor=True,
                          review_on=now.date() + timedelta(days=40)))
    db.session.commit()
    return pupil, during


def text_of(html: str) -> str:
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main.split(">", 1)[1]))


def test_the_sheet_for_a_pupil_with_two_rounds_hopes_and_targets(client, staff_world):
    sw = staff_world
    pupil, during = two_rounds(sw)
    login_as(client, sw.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/sheet")
    assert page.status_code == 200
    text = text_of(page.text)
    factors = {f.key: f for f in sw.q.factors}
    capable, ready, work = (factors[k] for k in ("perceived_learning_capability", "preparedness_for_learning",
                                                   "general_work_ethic"))
    assert "latest round: During" in text and capable.strength in text
    assert text.index(capable.strength) < text.index("To talk about")  # strengths first
    talk = text.split("To talk about", 1)[1].split("Change since", 1)[0]
    assert work.name in talk and work.invitations[0] in talk and work.ideas[0] in talk
    change = text.split("Change since \u201cBefore\u201d", 1)[1]
    scores = db.session.scalars(sa.select(FactorScore.score)).all()
    assert re.search(rf"{ready.name} [0-9]+ to [0-9]+ \((\u25b2 reliable rise|within measurement error)\)", change)
    assert "\u25b2 reliable rise" in change and "\u25bc reliable fall" in change
    assert "To be a nurse" in text and "Fractions" in text
    assert "Be in school every day" in text and "Met" in text and "Homework club on Tuesdays" in text
    assert "Targets agreed today" in text
    assert scores and any(f"{s:.0f} to" in change or f"to {s:.0f}" in change for s in scores)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "viewed conversation sheet", AuditEvent.pupil_id == pupil.id)) == 1
    login_as(client, sw.teacher_b)
    for url in (f"/staff/pupils/{pupil.id}/sheet", f"/staff/pupils/{pupil.id}/family-summary.pdf"):
        assert client.get(url).status_code == 404, url
    token = csrf_from(client.get("/staff/").text)
    assert client.post(f"/staff/groups/{sw.group.id}/review-pack/sheet", data={"csrf_token": token}).status_code == 404


def test_the_family_summary_has_no_number_from_the_scores_and_no_band(client, staff_world):
    sw = staff_world
    pupil, during = two_rounds(sw)
    login_as(client, sw.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/family-summary")
    text = text_of(page.text)
    factors = {f.key: f for f in sw.q.factors}
    assert factors["perceived_learning_capability"].family_strength in text
    assert factors["general_work_ethic"].family_focus in text and factors["general_work_ethic"].family_help[0] in text
    assert "Homework club on Tuesdays" in text and "Be in school every day" not in text  # open targets only
    assert "Teacher at Test School" in text  # the pupil's tutor, when the round names no contact
    assert not re.search(r"\d", text)
    for band in sw.q.bands:
        assert not re.search(rf"\b{band.label}\b", text), band.label
    pdf = client.get(f"/staff/pupils/{pupil.id}/family-summary.pdf")
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == 1
    assert not re.search(r"\d", reader.pages[0].extract_text())


def test_review_pack_and_family_letter_commands(runner, staff_world, tmp_path):
    sw = staff_world
    two_rounds(sw)
    out = tmp_path / "pack.pdf"
    result = runner.invoke(args=["review-pack", "--group", "Group A", "--kind", "sheet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pupils = len(sw.group.pupils)
    assert f"{pupils} of {pupils} pupils" in result.output and "Wrote" in result.output
    reader = PdfReader(out)
    assert len(reader.pages) >= pupils
    assert any("Conversation sheet: Ada Tester" in page.extract_text() for page in reader.pages)
    result = runner.invoke(args=["review-pack", "--group", str(sw.group.id), "--kind", "family", "--out", str(out)])
    assert result.exit_code == 0 and len(PdfReader(out).pages) == pupils
    bad = runner.invoke(args=["review-pack", "--group", "No such group", "--kind", "family", "--out", str(out)])
    assert bad.exit_code != 0 and "No group has the id or name 'No such group'" in bad.output
    # The round's letter to families.
    out = tmp_path / "letter.pdf"
    result = runner.invoke(args=["family-letter", "--round", "Before", "--out", str(out)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(out)
    assert len(reader.pages) == 2  # the two partnership schools of the round's group
    text = reader.pages[0].extract_text()
    assert "How long they are kept" in text and "two years" in text and "did not take part" in text
    result = runner.invoke(args=["family-letter", "--round", str(sw.round_b.id), "--out", str(out)])
    assert result.exit_code == 0 and "Elsewhere Academy" in PdfReader(out).pages[0].extract_text()
    assert runner.invoke(args=["family-letter", "--round", "Nope", "--out", str(out)]).exit_code != 0


def test_the_sheet_shows_imported_attendance_and_attainment_against_target(client, runner, staff_world, tmp_path):
    """Attendance and results come from the school's MIS files, imported with the tracking
    commands; the sheet (page and PDF) shows them, and a family summary shows none."""
    sw = staff_world
    pupil, _ = two_rounds(sw)
    attainment = tmp_path / "attainment.csv"
    attainment.write_text("UPN,Subject,Assessment,Date,Result,Target,Prediction,Scale\n"
                          f"{pupil.upn},Maths,Autumn 2,2026-12-04,6,5,7,GCSE 9-1\n"
                          f"{pupil.upn},English,Autumn 2,2026-12-04,WTS,EXS,,Working at\n", encoding="utf-8")
    attendance = tmp_path / "attendance.csv"
    attendance.write_text(f"UPN,From,To,Attendance %\n{pupil.upn},2026-09-01,2026-11-30,88.5\n", encoding="utf-8")
    urn = sw.school.urn
    for command, path in (("import-attainment", attainment), ("import-attendance", attendance)):
        result = runner.invoke(args=[command, "--school", urn, str(path)])
        assert result.exit_code == 0, result.output
    login_as(client, sw.teacher)
    text = text_of(client.get(f"/staff/pupils/{pupil.id}/sheet").text)
    assert "Attendance 88.5% from 1 Sep 2026 to 30 Nov 2026" in text
    assert "Maths (Autumn 2, GCSE 9–1): 6; target 5; prediction 7; above target" in text
    assert "English (Autumn 2, Working at (WTS/EXS/GDS)): WTS; target EXS; below target" in text
    pdf = client.get(f"/staff/pupils/{pupil.id}/sheet.pdf")
    assert pdf.status_code == 200
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Attendance 88.5%" in pdf_text and "above target" in pdf_text
    family = client.get(f"/staff/pupils/{pupil.id}/family-summary.pdf")
    assert "88.5" not in PdfReader(io.BytesIO(family.data)).pages[0].extract_text()


def test_a_groups_review_pack_is_made_by_the_job_queue(client, staff_world):
    """The batch PDF of a group is a queued job (the tests' queue runs it at once); its page
    offers the PDF, one page or more per pupil; a kind that does not exist is not found."""
    from survey_app.models import Job

    sw = staff_world
    two_rounds(sw)
    login_as(client, sw.teacher)
    page = client.get(f"/staff/groups/{sw.group.id}/review")
    assert "All conversation sheets (PDF)" in page.text and 'method="post"' in page.text
    token = csrf_from(page.text)
    started = client.post(f"/staff/groups/{sw.group.id}/review-pack/sheet", data={"csrf_token": token})
    assert started.status_code == 302 and "/staff/jobs/" in started.headers["Location"]
    job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
    assert job.kind == "reviews.pack" and job.status == "done", (job.status, job.message)
    pdf = client.get(f"/staff/jobs/{job.token}/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.data)).pages
    assert len(pages) >= len(sw.group.pupils)
    assert any("Conversation sheet: Ada Tester" in p.extract_text() for p in pages)
    assert client.post(f"/staff/groups/{sw.group.id}/review-pack/nonsense",
                       data={"csrf_token": token}).status_code == 404
