"""The authority dashboard: protected figures only, every school beside the others."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AuditEvent, Pupil, ResponseScores
from survey_app.privacy.disclosure import PRIVACY_NOTE
from tests.authority.support import add_authority, fill_authority
from tests.conftest import login_as
from tests.platform import test_access_matrix as matrix


@pytest.fixture
def authority_world(app, staff_world):
    add_authority(staff_world)
    staff_world.rounds = fill_authority(staff_world)
    return staff_world


def _adjusted_mean(round_ids, school_id, position=1):
    score, offset = ResponseScores.__table__.c[f"score_{position}"], ResponseScores.__table__.c[f"offset_{position}"]
    per = (sa.select(sa.func.avg(score + offset).label("v")).select_from(ResponseScores.__table__)
           .join(Pupil, Pupil.id == ResponseScores.__table__.c.pupil_id)
           .where(ResponseScores.__table__.c.round_id.in_(round_ids), Pupil.school_id == school_id)
           .group_by(ResponseScores.__table__.c.pupil_id).subquery())
    return db.session.scalar(sa.select(sa.func.avg(per.c.v)))


def test_dashboard_shows_protected_school_figures_and_no_pupil(app, authority_world):
    w = authority_world
    client = app.test_client()
    login_as(client, w.authority_user)
    last = w.rounds[-1]
    page = client.get(f"/staff/authority/?round={last.id}&compare={w.rounds[0].id}")
    assert page.status_code == 200
    html = page.text
    for school in (w.school, w.school2, w.other_school):
        assert school.name in html
    for p in w.authority_pupils + w.pupils:
        assert p.first_name not in html and p.upn not in html
    assert PRIVACY_NOTE.replace("\u2019", "&#39;") in html or "protect pupils" in html
    assert "Funnel plot" in html and "Change per school" in html and "Brokered partnerships" in html
    # The main school's mean is worked out from adjusted scores (score + offset), rounded.
    from survey_app.authority.dashboard import Selection, build_dashboard
    from survey_app.models.base import utcnow

    board = build_dashboard(db.session, w.authority, Selection([last.id], [w.rounds[0].id], None), 5, utcnow())
    first = board.tables[0]
    assert first.cells[w.school.id].mean == round(_adjusted_mean([last.id], w.school.id), 1)
    # A school of three pupils is withheld, and so is a second school (else the total gives it away).
    assert first.cells[w.other_school.id].mean is None
    t = ResponseScores.__table__
    true_n = db.session.scalar(sa.select(sa.func.count()).select_from(t).join(Pupil, Pupil.id == t.c.pupil_id)
                               .where(t.c.round_id == last.id, Pupil.school_id == w.school.id,
                                      t.c.score_1.is_not(None)))
    assert abs(first.cells[w.school.id].n - true_n) <= 2
    assert sum(c.mean is None for c in first.cells.values()) >= 2 or first.total.n is None
    lower, upper = first.cells[w.school.id].lower, first.cells[w.school.id].upper
    assert lower < first.cells[w.school.id].mean < upper
    assert board.funnel is not None and board.funnel.curves[0.95][0][1] < board.funnel.centre
    assert board.changes and board.brokered and board.brokered[0].schools[0].school == w.school.name
    assert board.brokered[0].schools[0].after.mean is not None  # rounds after the start exist
    assert (last.id, w.school.id) in board.participation


def test_exports_carry_the_privacy_note_and_are_audited(app, authority_world):
    from openpyxl import load_workbook

    w = authority_world
    client = app.test_client()
    login_as(client, w.authority_user)
    csv_resp = client.get(f"/staff/authority/export.csv?round={w.rounds[-1].id}")
    assert csv_resp.status_code == 200 and csv_resp.mimetype == "text/csv"
    text = csv_resp.get_data(as_text=True)
    assert PRIVACY_NOTE in text and w.school.name in text and "Authorityson" not in text
    xlsx = client.get(f"/staff/authority/export.xlsx?round={w.rounds[-1].id}")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames[:2] == ["About", "Means"]
    assert any(PRIVACY_NOTE in str(c.value) for row in book["About"].iter_rows() for c in row)
    exports = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "exported")).all()
    assert len(exports) == 2 and exports[0].staff_id == w.authority_user.id


def test_a_round_from_elsewhere_is_refused_in_words(app, staff_world):
    from survey_app.models import Partnership, SurveyRound

    w = staff_world
    add_authority(w)
    elsewhere = Partnership(name="Unrelated")
    db.session.add(elsewhere)
    db.session.flush()
    foreign = SurveyRound(name="Foreign", phase="before", questionnaire_version_id=w.version.id,
                          opens_at=w.round.opens_at, closes_at=w.round.closes_at, partnership_id=elsewhere.id)
    db.session.add(foreign)
    db.session.commit()
    client = app.test_client()
    login_as(client, w.authority_user)
    page = client.get(f"/staff/authority/?round={foreign.id}")
    assert page.status_code == 200 and "not this authority" in page.text and "Mean per factor" not in page.text
    assert client.get(f"/staff/authority/export.csv?round={foreign.id}").status_code == 400
    assert client.get("/staff/authority/?round=abc").status_code == 200


def test_authority_staff_get_no_pupil_level_page(app, authority_world):
    """Every staff GET route, for the authority role: refused, or free of any pupil."""
    w = authority_world
    matrix.add_flag(w)
    client = app.test_client()
    login_as(client, w.authority_user)
    names = [p.first_name for p in w.authority_pupils + w.pupils] + [w.pupil2.first_name, w.other_pupil.first_name]
    opened = []
    for rule in matrix.staff_get_routes(app):
        url = matrix.url_for_rule(rule, matrix.arg_values(w, 1))
        resp = client.get(url)
        if resp.status_code == 200:
            opened.append(rule.endpoint)
            # Random tokens (the CSRF field, script nonces) can spell a short name by chance:
            # look at the page's words without its attribute values.
            words = set(re.findall(r"\w+", re.sub(r'="[^"]*"', "", resp.get_data(as_text=True))))
            assert not [n for n in names if n in words], url
    assert set(opened) <= {"authority.dashboard", "authority.export", "accounts.change_password"}
    assert "authority.dashboard" in opened
