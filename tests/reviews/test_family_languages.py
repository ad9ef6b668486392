"""The family summary in another language: the languages the pupil's latest round offers
(drafts only when it allows them), the family texts from the real translation files, the
page's own words from the catalogs, RTL for Urdu, the PDF in Welsh and the message in
its place for Urdu, and the same scope checks as in English."""

from __future__ import annotations

import html
import io
import re
import tomllib

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from survey_app.db import db
from survey_app.models import AuditEvent
from survey_app.reviews.pdf import pdf_can_draw
from tests.conftest import ROOT, login_as
from tests.reviews.test_sheets import text_of, two_rounds


def family_text(language: str, factor: str, name: str = "family_strength") -> str:
    path = ROOT / "questionnaires" / "translations" / f"pass9-secondary.{language}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))["factors"][factor][name]


def html_tag(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group(0)


@pytest.fixture
def offered(staff_world):
    """Ada's latest round ("During") offers Welsh and Urdu, drafts allowed."""
    pupil, during = two_rounds(staff_world)
    during.languages = ["cy", "ur"]
    during.allow_draft_languages = True
    db.session.commit()
    return pupil, during


def views(pupil, action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.pupil_id == pupil.id))


def test_the_summary_in_welsh(client, staff_world, offered):
    pupil, _ = offered
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/family-summary?lang=cy")
    assert page.status_code == 200
    assert html_tag(page.text) == '<html lang="cy" dir="ltr">'
    text = html.unescape(text_of(page.text))
    # The family texts from the real Welsh file, not the English ones.
    assert family_text("cy", "perceived_learning_capability") in text
    assert family_text("cy", "general_work_ethic", "family_focus") in text
    assert family_text("cy", "general_work_ethic", "family_help")[0] in text
    english = {f.key: f for f in staff_world.q.factors}
    assert english["perceived_learning_capability"].family_strength not in text
    # The page's own words from the catalog.
    assert "Pwy i gysylltu â nhw" in text and "Beth mae Ada yn gweithio arno" in text
    assert "Who to contact" not in text and "parents and carers" not in text
    assert "Teacher yn Test School" in text  # the contact line's fixed words
    # Staff words in English, marked so: the draft note, the targets note, the menu.
    assert "This Welsh translation is a draft: it has not been checked by a native speaker" in text
    assert "Targets are shown as staff wrote them" in text and "Homework club on Tuesdays" in text
    assert '<nav class="staff-nav" aria-label="Staff sections" lang="en-GB" dir="ltr">' in page.text
    assert 'class="no-print family-tools" lang="en-GB" dir="ltr"' in page.text
    # The choice: English and what the round offers, the current one marked; the PDF in Welsh.
    assert f'href="/staff/pupils/{pupil.id}/family-summary?lang=ur"' in page.text
    assert re.search(rf'href="/staff/pupils/{pupil.id}/family-summary" lang="en-GB"', page.text)
    assert re.search(r'lang="cy" dir="ltr" aria-current="page"', page.text)
    assert f'href="/staff/pupils/{pupil.id}/family-summary.pdf?lang=cy"' in page.text
    assert not re.search(r"\d", text.split("Homework club")[0].split("Language:", 1)[1])
    assert views(pupil, "viewed family summary") == 1
    # The rest of the staff pages stay English.
    assert html_tag(client.get("/staff/").text) == '<html lang="en-GB" dir="ltr">'
    assert html_tag(client.get(f"/staff/pupils/{pupil.id}/family-summary").text) == \
        '<html lang="en-GB" dir="ltr">'


def test_the_summary_in_urdu_is_right_to_left(client, staff_world, offered):
    pupil, _ = offered
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/family-summary?lang=ur")
    assert page.status_code == 200
    assert html_tag(page.text) == '<html lang="ur" dir="rtl">'
    text = html.unescape(text_of(page.text))
    assert family_text("ur", "perceived_learning_capability") in text and "کس سے رابطہ کریں" in text
    assert "css/languages.css" in page.text  # (the Noto Nastaliq face)
    assert "This Urdu translation is a draft" in text
    assert "print this page from the browser" in text
    assert "family-summary.pdf" not in page.text  # no PDF button for a script it cannot draw


def test_a_language_not_offered_or_unknown_is_refused(client, staff_world, offered):
    pupil, during = offered
    login_as(client, staff_world.teacher)
    for code in ("pl", "xx", "de", "", "cy<script>"):  # (pl: translated, but not offered)
        for suffix in ("", ".pdf"):
            page = client.get(f"/staff/pupils/{pupil.id}/family-summary{suffix}", query_string={"lang": code})
            assert page.status_code == 400, (code, suffix)
            assert "not available in that language for this pupil" in page.text
            assert "<script>" not in page.text.split('<main id="main"')[1]
    assert views(pupil, "viewed family summary") == 0
    # A round that does not allow drafts offers none of the (draft) translations.
    during.allow_draft_languages = False
    db.session.commit()
    assert client.get(f"/staff/pupils/{pupil.id}/family-summary?lang=cy").status_code == 400
    page = client.get(f"/staff/pupils/{pupil.id}/family-summary")
    assert page.status_code == 200 and "Language:" not in page.text and "Cymraeg" not in page.text
    assert client.get(f"/staff/pupils/{pupil.id}/family-summary?lang=en").status_code == 200


def test_the_pdf_in_welsh_and_the_message_for_urdu(client, staff_world, offered):
    pupil, _ = offered
    login_as(client, staff_world.teacher)
    pdf = client.get(f"/staff/pupils/{pupil.id}/family-summary.pdf?lang=cy")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    text = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert len(reader.pages) == 1
    assert "Pwy i gysylltu â nhw" in text and "Ada yn Test School" in text
    assert re.sub(r"\s+", " ", family_text("cy", "perceived_learning_capability")) in text
    assert not re.search(r"\d", text)
    assert views(pupil, "printed family summary") == 1
    page = client.get(f"/staff/pupils/{pupil.id}/family-summary.pdf?lang=ur")
    assert page.status_code == 422 and page.mimetype == "text/html"
    assert "The PDF cannot draw Urdu script" in page.text
    assert f'href="/staff/pupils/{pupil.id}/family-summary?lang=ur"' in page.text
    assert views(pupil, "printed family summary") == 1  # nothing printed


def test_a_teacher_of_another_group_still_gets_not_found(client, staff_world, offered):
    pupil, _ = offered
    login_as(client, staff_world.teacher_b)
    for url in ("family-summary?lang=cy", "family-summary.pdf?lang=cy", "family-summary?lang=ur",
                "family-summary.pdf?lang=ur", "family-summary?lang=xx"):
        assert client.get(f"/staff/pupils/{pupil.id}/{url}").status_code == 404, url
    assert views(pupil, "viewed family summary") == 0


@pytest.mark.parametrize(("code", "drawn"), [("en", True), ("cy", True), ("pl", True), ("ro", True),
                                             ("so", True), ("pt", True), ("es", True), ("ar", False),
                                             ("ur", False), ("pa", False), ("pa-Guru", False),
                                             ("bn", False), ("xx", False)])
def test_which_languages_the_pdf_draws(code, drawn, tmp_path):
    assert pdf_can_draw(code) is drawn
    # Without DejaVu (Helvetica holds Latin-1 only) only English.
    assert pdf_can_draw(code, font_dir=tmp_path) is (code == "en")


def test_a_groups_family_summaries_in_welsh(client, runner, staff_world, offered, tmp_path):
    """The group's pack offers the languages its rounds offer that the PDF draws (Welsh, not
    Urdu); each pupil whose latest round does not offer it (no finished round) gets English."""
    from survey_app.models import Job
    from tests.conftest import csrf_from

    sw = staff_world
    login_as(client, sw.teacher)
    page = client.get(f"/staff/groups/{sw.group.id}/review")
    assert '<option value="cy" lang="cy">Cymraeg</option>' in page.text and 'value="ur"' not in page.text
    token = csrf_from(page.text)
    url = f"/staff/groups/{sw.group.id}/review-pack/family"
    assert client.post(url, data={"csrf_token": token, "lang": "ur"}).status_code == 400
    assert client.post(url, data={"csrf_token": token, "lang": "pl"}).status_code == 400
    started = client.post(url, data={"csrf_token": token, "lang": "cy"})
    assert started.status_code == 302
    job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
    assert job.status == "done", job.message
    pages = [re.sub(r"\s+", " ", p.extract_text())
             for p in PdfReader(io.BytesIO(client.get(f"/staff/jobs/{job.token}/download").data)).pages]
    ada = next(p for p in pages if p.startswith("Ada yn Test School"))
    assert "Pwy i gysylltu â nhw" in ada
    assert sum("Who to contact" in p for p in pages) == len(sw.group.pupils) - 1
    login_as(client, sw.teacher_b)
    token = csrf_from(client.get("/staff/").text)
    assert client.post(url, data={"csrf_token": token, "lang": "cy"}).status_code == 404
    # The same from the command line.
    out = tmp_path / "family.pdf"
    result = runner.invoke(args=["review-pack", "--group", "Group A", "--kind", "family", "--lang", "cy",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"1 in cy, {len(sw.group.pupils) - 1} in English" in result.output
    assert any("Pwy i gysylltu" in p.extract_text() for p in PdfReader(out).pages)
    result = runner.invoke(args=["review-pack", "--group", "Group A", "--kind", "family", "--lang", "ur",
                                 "--out", str(tmp_path / "ur.pdf")])
    assert result.exit_code != 0 and "print each pupil's family summary page from the browser" in result.output
