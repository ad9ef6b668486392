"""Pupil voice with safeguarding: asked only when a round turns it on and names its lead;
comments reach only that lead, highlighted by the school's words; never in exports."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models.reviews import PupilComment
from survey_app.reviews.voice import highlight
from tests.conftest import csrf_from, login_as, sign_in_pupil
from tests.reviews.support import share_results

QUESTION = "Is there anything else you would like your teacher to know?"


def _finish_with_comment(client, code, text):
    sign_in_pupil(client, code)
    check = client.get("/survey/check")
    client.post("/survey/finish", data={"comment": text, "csrf_token": csrf_from(check.text)})
    return check


def test_comments_reach_only_the_safeguarding_lead_highlighted(client, staff_world, app):
    sw = staff_world
    check = _finish_with_comment(app.test_client(), sw.code_of(2), "Not asked")  # pupil voice is off
    assert QUESTION not in check.text
    share_results(sw.round, on=False, pupil_voice=True, safeguarding_lead_id=sw.lead.id)
    login_as(client, sw.teacher)
    assert client.get(f"/staff/schools/{sw.school.id}/safeguarding-words").status_code == 403
    login_as(client, sw.other_lead)
    assert client.get(f"/staff/schools/{sw.school.id}/safeguarding-words").status_code == 404
    login_as(client, sw.lead)
    words = client.get(f"/staff/schools/{sw.school.id}/safeguarding-words")
    client.post(f"/staff/schools/{sw.school.id}/safeguarding-words",
                data={"words": "Picked on\nscared\n\nscared", "csrf_token": csrf_from(words.text)})
    pupil_client = app.test_client()
    check = _finish_with_comment(pupil_client, sw.code_of(0), "I like art")
    assert QUESTION in check.text
    _finish_with_comment(app.test_client(), sw.code_of(1), "Someone keeps picking on me. I am SCARED at lunch.")
    comments = db.session.scalars(sa.select(PupilComment)).all()
    assert len(comments) == 2
    assert "Pupil voice (2 new)" in client.get("/staff/review-days").text
    page = client.get("/staff/pupil-voice")
    assert page.status_code == 200 and "Pupil voice" in page.text
    assert page.text.index("SCARED") < page.text.index("I like art")  # the matching comment first
    assert '<mark class="highlight-word">SCARED</mark>' in page.text and "Matches: scared" in page.text
    assert "Pupil voice (" not in client.get("/staff/review-days").text  # read now
    for other in (sw.admin, sw.teacher, sw.other_lead):
        login_as(client, other)
        text = client.get("/staff/pupil-voice").text
        assert "I like art" not in text and "SCARED" not in text, other.email
    # Never in exports (the audit log names the comment table, never its words).
    login_as(client, sw.admin)
    audit = client.get("/staff/admin/audit.csv")
    assert audit.status_code == 200
    assert "SCARED" not in audit.get_data(as_text=True)


def test_highlight_matches_whole_words_ignoring_case():
    parts, matched = highlight("Scarecrow is scared, not Scared-ish", ["scared"])
    assert matched == ["scared"]
    assert [p for p, hit in parts if hit] == ["scared", "Scared"]
    assert highlight("nothing here", []) == ([("nothing here", False)], [])
