"""Teachers' views: group heatmap, learning profile, support log, print view, rescore."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AuditEvent, ChangeLog, FactorScore, Response, SupportEntry, SurveyRound
from survey_app.models.base import utcnow
from survey_app.pupil.answers import GivenAnswer, finish_response, record_answers, start_or_resume
from survey_app.pupil.codes import issue_codes
from survey_app.rounds.statistics import compute_round_stats
from survey_app.scoring.reliability import cronbach_alpha
from tests.conftest import csrf_from, login_as


def answer_round(world, survey_round, pupils, level, seed=1, skip=()):
    """Give each pupil a finished response at about `level` (1-4) on every statement."""
    from survey_app.models import AccessCode

    rng = random.Random(seed)
    issue_codes(db.session, survey_round, [p.id for p in pupils])
    now = utcnow()
    for pupil in pupils:
        access = db.session.scalar(sa.select(AccessCode).where(
            AccessCode.round_id == survey_round.id, AccessCode.pupil_id == pupil.id))
        response = start_or_resume(db.session, access, now - timedelta(minutes=20))
        given = []
        for s in world.q.statements:
            if s.id in skip:
                continue
            v = max(1, min(4, round(level + rng.gauss(0, 0.6))))
            given.append(GivenAnswer(s.id, 5 - v if s.reversed else v, 1))
        record_answers(db.session, response, given, now - timedelta(minutes=19))
        response.seconds_spent = 600
        finish_response(db.session, response, now - timedelta(minutes=10))
    db.session.commit()


def second_round(world, name="During", days_ago=0):
    now = utcnow()
    r = SurveyRound(name=name, phase="during", questionnaire_version_id=world.version.id,
                    opens_at=now - timedelta(days=1 + days_ago), closes_at=now + timedelta(days=5),
                    mode="page", partnership_id=world.partnership.id, groups=[world.group])
    db.session.add(r)
    db.session.commit()
    return r


def pupils_a(world):
    return [*world.pupils, world.pupil2]


def test_heatmap_scores_bands_and_median(client, staff_world):
    answer_round(staff_world, staff_world.round, pupils_a(staff_world)[:4], level=3.2)
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/groups/{staff_world.group.id}/heatmap")
    assert page.status_code == 200
    assert "Group median" in page.text and "Self-regard as a learner" in page.text
    assert re.search(r'class="band band-(concern|low|moderate|positive)"', page.text)
    assert "not taken" in page.text  # the fifth pupil has not answered
    # Sorting by a factor puts the highest first when asked.
    page = client.get(f"/staff/groups/{staff_world.group.id}/heatmap?sort=self_regard&order=desc")
    assert page.status_code == 200


def test_heatmap_change_marks_reliable_rises(client, staff_world):
    pupils = pupils_a(staff_world)
    answer_round(staff_world, staff_world.round, pupils, level=1.6, seed=2)
    during = second_round(staff_world)
    answer_round(staff_world, during, pupils, level=3.8, seed=3)
    login_as(client, staff_world.lead)
    url = f"/staff/groups/{staff_world.group.id}/heatmap?round={during.id}&compare={staff_world.round.id}"
    page = client.get(url)
    assert page.status_code == 200
    assert "reliable rise" in page.text and "cell-up" in page.text
    assert "questionnaire reference" in page.text  # cohort of 5 is too small: source stated


@pytest.mark.parametrize("query", ["round=abc", "sort=password", "order=sideways", "round=999999",
                                   "compare=-1"])
def test_heatmap_refuses_bad_parameters(client, staff_world, query):
    login_as(client, staff_world.teacher)
    resp = client.get(f"/staff/groups/{staff_world.group.id}/heatmap?{query}")
    assert resp.status_code == 400 and "Traceback" not in resp.text


def test_heatmap_and_profile_scope(client, staff_world):
    login_as(client, staff_world.teacher)
    assert client.get(f"/staff/groups/{staff_world.group_b.id}/heatmap").status_code == 404
    assert client.get(f"/staff/pupils/{staff_world.other_pupil.id}/profile").status_code == 404
    assert client.get(f"/staff/pupils/{staff_world.other_pupil.id}/profile/print").status_code == 404
    login_as(client, staff_world.other_lead)
    assert client.get(f"/staff/pupils/{staff_world.pupils[0].id}/profile").status_code == 404
    client.get("/staff/sign-out")
    anonymous = client.application.test_client()
    assert anonymous.get(f"/staff/pupils/{staff_world.pupils[0].id}/profile").status_code == 302


def test_profile_explains_missing_data_plainly(client, staff_world):
    login_as(client, staff_world.teacher)
    pupil = staff_world.pupils[0]
    page = client.get(f"/staff/pupils/{pupil.id}/profile")
    assert page.status_code == 200 and "has not answered any survey yet" in page.text
    # One round, with a factor left short of two thirds.
    factor = staff_world.q.factors[0].key
    skip = [s.id for s in staff_world.q.statements_of(factor)][:3]
    answer_round(staff_world, staff_world.round, [pupil], level=3, skip=skip)
    page = client.get(f"/staff/pupils/{pupil.id}/profile")
    assert "Only one round is finished" in page.text
    assert "Not scored:" in page.text and "two thirds needed" in page.text
    assert 'data-chart="profile-chart-data"' in page.text


def test_profile_shows_rounds_change_statements_and_flags(client, staff_world):
    pupil = staff_world.pupils[1]
    answer_round(staff_world, staff_world.round, [pupil], level=1.5, seed=4)
    during = second_round(staff_world)
    answer_round(staff_world, during, [pupil], level=3.9, seed=5)
    response = db.session.scalar(sa.select(Response).where(Response.round_id == during.id))
    response.seconds_spent = 20  # implausibly fast
    db.session.commit()
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/profile")
    text = page.text
    assert page.status_code == 200
    assert "Before" in text and "During" in text and "reliable rise" in text
    assert "too fast" in text and "still shown" in text
    reversed_statement = next(s for s in staff_world.q.statements if s.reversed)
    assert reversed_statement.text in text and ">reversed<" in text
    assert staff_world.q.factors[0].ideas[0] in text
    figure = json.loads(re.search(r'id="profile-chart-data">(.*?)</script>', text, re.S).group(1))
    assert len(figure["data"]) == 2 and len(figure["data"][0]["y"]) == 9
    # Every view is recorded for the audit log.
    views = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.pupil_id == pupil.id)).all()
    assert [v.action for v in views] == ["viewed profile"] and views[0].staff_id == staff_world.teacher.id


def test_print_view_has_no_navigation(client, staff_world):
    pupil = staff_world.pupils[0]
    answer_round(staff_world, staff_world.round, [pupil], level=3)
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/profile/print")
    assert page.status_code == 200
    assert 'class="staff-nav"' not in page.text and "print.css" in page.text
    assert "Scores by round" in page.text


def test_support_log_add_edit_and_isolation(client, staff_world):
    pupil, other = staff_world.pupils[0], staff_world.pupils[1]
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/pupils/{pupil.id}/profile")
    token = csrf_from(page.text)
    resp = client.post(f"/staff/pupils/{pupil.id}/support", data={
        "csrf_token": token, "kind": "intervention", "intervention_type": "Mentoring",
        "text": "Weekly mentoring <b>with</b> Ms Jones", "starts_on": "2026-10-01", "ends_on": "2026-12-01"})
    assert resp.status_code == 302
    entry = db.session.scalars(sa.select(SupportEntry)).one()
    assert entry.author_id == staff_world.teacher.id and entry.intervention_type == "Mentoring"
    page = client.get(f"/staff/pupils/{pupil.id}/profile")
    assert "Weekly mentoring &lt;b&gt;with&lt;/b&gt; Ms Jones" in page.text  # escaped
    assert "Weekly mentoring" not in client.get(f"/staff/pupils/{other.id}/profile").text
    # Bad values: a message on the form, nothing changed.
    for bad in [{"text": ""}, {"ends_on": "2026-09-01"}, {"intervention_type": ""}, {"starts_on": "nope"}]:
        data = {"csrf_token": token, "kind": "intervention", "intervention_type": "Mentoring",
                "text": "x", "starts_on": "2026-10-01", "ends_on": "2026-12-01", **bad}
        resp = client.post(f"/staff/pupils/{pupil.id}/support", data=data)
        assert resp.status_code == 400 and 'class="error"' in resp.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportEntry)) == 1
    assert client.post(f"/staff/pupils/{pupil.id}/support", data={"kind": "note", "text": "x",
                                                                  "starts_on": "2026-10-01"}).status_code == 400
    # Edit keeps the old wording in the history.
    edit_url = f"/staff/pupils/{pupil.id}/support/{entry.id}"
    resp = client.post(edit_url, data={"csrf_token": token, "kind": "intervention", "intervention_type": "Mentoring",
                                       "text": "Fortnightly mentoring", "starts_on": "2026-10-01"})
    assert resp.status_code == 302
    log = db.session.scalars(sa.select(ChangeLog).where(ChangeLog.entity == "support",
                                                        ChangeLog.action == "edited")).one()
    assert log.changes["text"][0].startswith("Weekly") and log.staff_id == staff_world.teacher.id
    assert "Fortnightly" in client.get(edit_url).text
    # The entry cannot be reached through another pupil, or by a teacher of another group.
    assert client.get(f"/staff/pupils/{other.id}/support/{entry.id}").status_code == 404
    login_as(client, staff_world.teacher_b)
    assert client.get(edit_url).status_code == 404


def test_round_alpha_from_the_database_matches_pure_code(app, staff_world):
    pupils = pupils_a(staff_world)
    answer_round(staff_world, staff_world.round, pupils, level=2.7, seed=9)
    stats = compute_round_stats(db.session, staff_world.round, utcnow())
    factor = staff_world.q.factors[2]
    statements = staff_world.q.statements_of(factor.key)
    from survey_app.models import Answer

    rows = []
    for response in db.session.scalars(sa.select(Response)):
        answers = dict(db.session.execute(sa.select(Answer.item, Answer.value).where(
            Answer.response_id == response.id)).all())
        rows.append([5 - answers[s.id] if s.reversed else answers[s.id] for s in statements])
    expected = cronbach_alpha(rows)
    assert stats[factor.key].alpha_n == len(pupils)
    if expected.alpha is None:
        assert stats[factor.key].alpha is None
    else:
        assert stats[factor.key].alpha == pytest.approx(expected.alpha, abs=1e-9)
    scores = [s for s in db.session.scalars(sa.select(FactorScore.score).where(FactorScore.factor == factor.key))]
    import statistics

    assert stats[factor.key].mean == pytest.approx(statistics.mean(scores))
    assert stats[factor.key].sd == pytest.approx(statistics.stdev(scores))


def test_rescore_command(runner, staff_world):
    answer_round(staff_world, staff_world.round, staff_world.pupils[:2], level=3)
    db.session.execute(sa.update(FactorScore).values(score=1.0))
    db.session.commit()
    result = runner.invoke(args=["rescore"])
    assert result.exit_code == 0 and "Rescored 2 responses" in result.output
    db.session.expire_all()
    assert all(s != 1.0 for s in db.session.scalars(sa.select(FactorScore.score)) if s is not None)
    result = runner.invoke(args=["rescore", "--round", "No such round"])
    assert result.exit_code == 1
    assert runner.invoke(args=["rescore", "--round", str(staff_world.round.id)]).exit_code == 0


def test_heatmap_of_a_round_nobody_has_answered_says_so(client, staff_world):
    login_as(client, staff_world.teacher)
    page = client.get(f"/staff/groups/{staff_world.group.id}/heatmap")
    assert page.status_code == 200
    assert "has finished" in page.text and "no scores to show" in page.text


def test_round_statistics_computed_for_a_page_are_kept(client, staff_world):
    from survey_app.models import RoundFactorStats

    pupils = pupils_a(staff_world)
    answer_round(staff_world, staff_world.round, pupils, level=2.5, seed=31)
    during = second_round(staff_world)
    answer_round(staff_world, during, pupils, level=3.0, seed=32)
    login_as(client, staff_world.teacher)
    assert client.get(f"/staff/pupils/{pupils[0].id}/profile").status_code == 200
    db.session.expire_all()
    kept = db.session.scalars(sa.select(RoundFactorStats.round_id).distinct()).all()
    assert kept == [staff_world.round.id]  # the baseline round's statistics were committed
