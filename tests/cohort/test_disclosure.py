"""Disclosure control of the cohort report: figures that count a pupil the viewer may not
see one by one are protected (adjusted, rounded, said so); the rest stay exact.

The world: a partnership of two schools. The first shares its pupils with the partnership;
the second shares none, so a partnership lead sees them only inside protected figures.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey_app.accounts.scope import Scope
from survey_app.cohort.build import cohort_report
from survey_app.cohort.selection import CohortSelection
from survey_app.db import db
from survey_app.models import FactorScore, Pupil, Response, StaffUser
from survey_app.models.base import utcnow
from survey_app.models.upn import make_upn
from survey_app.privacy import keys
from survey_app.privacy.disclosure import PRIVACY_NOTE
from tests.cohort_data import add_pupils, add_rounds, fill
from tests.conftest import login_as

FACTOR = "self_regard"


def _key_with_large_offsets(rounds) -> int:
    """A record key whose offsets on FACTOR are at least 12 points at each round (so the
    test does not depend on a lucky draw near zero)."""
    k = 1
    while not all(abs(keys.score_offset(k, FACTOR, r.id)) >= 12 for r in rounds):
        k += 1
    return k


@pytest.fixture
def partnership(staff_world):
    w = staff_world
    rounds = add_rounds(w, names=("After",))
    shared = add_pupils(w, 12)
    hidden = [Pupil(school=w.school2, upn=make_upn(201, 4001, 17, 200 + i), first_name=f"H{i}",
                    surname="Hidden", year_group=7 + i % 3, shared_with_partnership=False) for i in range(8)]
    db.session.add_all(hidden)
    w.group.pupils.extend(hidden)
    db.session.flush()
    hidden[0].record_key = _key_with_large_offsets(rounds)
    fill(w, rounds, shared + hidden, seed=11)
    db.session.commit()
    w.rounds, w.shared, w.hidden = rounds, shared, hidden
    return w


def _selection(world, **kw) -> CohortSelection:
    return CohortSelection(round_ids=tuple(r.id for r in world.rounds), **kw)


def _report(world, user, **kw):
    return cohort_report(db.session, Scope(user), _selection(world, **kw), utcnow(), 5)


def _mean(report, round_id, factor=FACTOR):
    return next(m for m in report.main.means if m.round_id == round_id and m.factor == factor)


def _true_score(pupil, round_id, factor=FACTOR) -> float:
    return db.session.scalar(sa.select(FactorScore.score).join(Response, Response.id == FactorScore.response_id)
                             .where(Response.pupil_id == pupil.id, Response.round_id == round_id,
                                    FactorScore.factor == factor))


def test_figures_of_pupils_the_lead_sees_stay_exact(partnership):
    w = partnership
    lead = _report(w, w.lead, school_ids=(w.school.id,))
    admin = _report(w, w.admin, school_ids=(w.school.id,))
    assert not lead.protected and PRIVACY_NOTE not in " ".join(lead.notes)
    assert lead.main == admin.main


def test_partnership_figures_counting_hidden_pupils_are_protected(partnership):
    w = partnership
    lead = _report(w, w.lead)
    admin = _report(w, w.admin)
    assert lead.protected and any(PRIVACY_NOTE in n for n in lead.notes)
    mean = _mean(lead, w.round.id)
    exact = _mean(admin, w.round.id)
    assert mean.protected and not exact.protected
    assert mean.mean != exact.mean and mean.mean == round(mean.mean, 1)
    assert abs(mean.mean - exact.mean) < 15  # adjusted, not destroyed
    change = lead.main.comparisons[0].factor(FACTOR)
    assert change.protected and change.ci_low == round(change.ci_low, 1)
    assert change.p is None or change.p == round(change.p, 3)


def test_differencing_two_selections_gives_the_adjusted_score_not_the_true_one(partnership):
    """A = years 7-9 of both schools, where one hidden pupil is the only one of the second
    school in those years; B = years 7-9 of the shared school: n(A)*mean(A) - n(B)*mean(B)
    is the hidden pupil's score plus the offset it carries (even with the true counts),
    never the score itself."""
    w = partnership
    target = w.hidden[0]
    for p in w.hidden[1:]:
        p.year_group = 13
    db.session.commit()
    year = (7, 8, 9)
    a = _report(w, w.lead, year_groups=year, school_ids=(w.school.id, w.school2.id))
    b = _report(w, w.lead, year_groups=year, school_ids=(w.school.id,))
    a_exact = _report(w, w.admin, year_groups=year, school_ids=(w.school.id, w.school2.id))
    b_exact = _report(w, w.admin, year_groups=year, school_ids=(w.school.id,))
    r = w.round.id
    assert not _mean(b, r).protected and _mean(b, r) == _mean(b_exact, r)
    truth = _true_score(target, r)
    n_a, n_b = _mean(a_exact, r).n, _mean(b_exact, r).n
    assert n_a == n_b + 1
    recovered = n_a * _mean(a, r).mean - n_b * _mean(b, r).mean  # the attack, with the true counts
    offset = keys.score_offset(target.record_key, FACTOR, r)
    assert abs(recovered - (truth + offset)) <= 0.05 * (n_a + n_b)  # what it gives: the adjusted score
    assert abs(recovered - truth) >= 10
    shown = _mean(a, r).n * _mean(a, r).mean - _mean(b, r).n * _mean(b, r).mean  # with the counts shown
    assert abs(shown - truth) >= 5 or _mean(a, r).n != n_a


def test_the_same_selection_gets_the_same_figures_every_time(partnership):
    w = partnership
    first, second = _report(w, w.lead), _report(w, w.lead)
    assert first.main == second.main
    with_split = _report(w, w.lead, split=None)
    assert with_split.main == first.main


def test_erasing_a_hidden_pupil_changes_the_figures(partnership):
    from survey_app.data.erasure import erase_pupil

    w = partnership
    before = _report(w, w.lead)
    erase_pupil(db.session, w.admin, w.hidden[3])
    db.session.commit()
    after = _report(w, w.lead)
    assert _mean(after, w.round.id) != _mean(before, w.round.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pupil).where(Pupil.id == w.hidden[3].id)) == 0


def test_a_teachers_own_group_stays_exact(partnership):
    w = partnership
    teacher = _report(w, w.teacher, group_ids=(w.group.id,))
    admin = _report(w, w.admin, group_ids=(w.group.id,))
    assert not teacher.protected and teacher.main == admin.main


def test_page_csv_xlsx_charts_and_cli_agree_on_protected_figures(partnership, client, runner):
    from openpyxl import load_workbook

    w = partnership
    login_as(client, w.lead)
    query = "&".join(f"round={r.id}" for r in w.rounds)
    page = client.get(f"/staff/cohort/?{query}")
    assert page.status_code == 200 and PRIVACY_NOTE in page.text
    report = _report(w, w.lead)
    mean = _mean(report, w.round.id)

    web_csv = client.get(f"/staff/cohort/download/csv?{query}").data.decode("utf-8-sig")
    assert PRIVACY_NOTE in web_csv
    rows = list(csv.reader(io.StringIO(web_csv)))
    means = [r for r in rows if len(r) == 6 and r[0] == "Selected pupils" and r[1] == w.round.name
             and r[2] == "Self-regard as a learner"]
    assert means and float(means[0][4]) == mean.mean and int(means[0][3]) == mean.n

    book = load_workbook(io.BytesIO(client.get(f"/staff/cohort/download/xlsx?{query}").data))
    sheet = book["Means"]
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    hit = [r for r in cells if r[1] == w.round.name and r[2] == "Self-regard as a learner"]
    assert hit and hit[0][4] == mean.mean and hit[0][3] == mean.n

    # The page's chart data carries no more precision than the page shows.
    charts = re.findall(r'<script type="application/json" id="chart-means">(.*?)</script>', page.text, re.S)
    figure = json.loads(charts[0])
    for trace in figure["data"]:
        for x in trace.get("x") or []:
            if isinstance(x, float):
                assert x == round(x, 1)
        for text in trace.get("hovertext") or []:
            assert not re.search(r"\d+\.\d{2,}", text), text
    html = client.get(f"/staff/cohort/download/html?{query}&chart=means")
    assert html.status_code == 200 and PRIVACY_NOTE in html.text

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cohort.csv"
        result = runner.invoke(args=["export-cohort", *sum((["--round", str(r.id)] for r in w.rounds), []),
                                     "--format", "csv", "--out", str(out), "--as", w.lead.email])
        assert result.exit_code == 0, result.output
        cli_csv = out.read_text(encoding="utf-8-sig")
    # Everything but the time it was made is the same as the page's CSV.
    def strip_time(text):
        return [r for r in csv.reader(io.StringIO(text)) if not (r and r[0] == "Made")]

    assert strip_time(cli_csv) == strip_time(web_csv)
    refused = runner.invoke(args=["export-cohort", "--round", "1", "--round", "2", "--format", "csv",
                                  "--out", "x.csv", "--as", "nobody@example.org"])
    assert refused.exit_code != 0 and "No active staff account" in refused.output


def test_round_statistics_are_protected_for_staff_who_cannot_see_the_whole_round(partnership, client):
    """The SD and alpha behind reliable change on a profile describe every pupil of the
    round: shown adjusted to a teacher who sees only some of them, exact to an admin."""
    from survey_app.profiles.queries import rci_bases

    w = partnership
    more = add_pupils(w, 30, start=400)
    fill(w, w.rounds, more, seed=3)
    db.session.commit()
    factors = w.q.factors
    exact = rci_bases(db.session, w.round, factors, utcnow(), Scope(w.admin))
    teacher_b = db.session.get(StaffUser, w.teacher_b.id)
    shown_ = rci_bases(db.session, w.round, factors, utcnow(), Scope(teacher_b))
    assert exact[FACTOR].sd is not None and exact[FACTOR].sd != round(exact[FACTOR].sd, 1)
    assert shown_[FACTOR].sd == round(shown_[FACTOR].sd, 1) and shown_[FACTOR].sd != exact[FACTOR].sd
    assert abs(shown_[FACTOR].sd - exact[FACTOR].sd) < 3
    again = rci_bases(db.session, w.round, factors, utcnow() + timedelta(seconds=1), Scope(teacher_b))
    assert again[FACTOR] == shown_[FACTOR]  # the same pupils, the same figure


def test_the_sub_groups_chart_without_a_split_is_a_clear_400(partnership, client):
    w = partnership
    login_as(client, w.lead)
    query = "&".join(f"round={r.id}" for r in w.rounds)
    response = client.get(f"/staff/cohort/download/png?{query}&chart=subgroups")
    assert response.status_code == 400
    assert "sub-groups" in response.text and "Traceback" not in response.text
