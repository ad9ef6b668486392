"""Survey rounds: setting up, changing, opening, closing and extending; scope; commands."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import AccessCode, ChangeLog, Group, Pupil, Response, SurveyRound
from survey_app.models.base import utcnow
from survey_app.models.upn import make_upn
from survey_app.rounds.operations import RoundNotFound, find_round, utc_to_local
from tests.conftest import csrf_from, login_as


def local_input(value: datetime) -> str:
    return utc_to_local(value, "Europe/London").strftime("%Y-%m-%dT%H:%M")


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def codes_of(survey_round) -> set[int]:
    return set(db.session.scalars(sa.select(AccessCode.pupil_id).where(
        AccessCode.round_id == survey_round.id)))


def log_actions(survey_round) -> list[str]:
    return list(db.session.scalars(sa.select(ChangeLog.action).where(
        ChangeLog.entity == "round", ChangeLog.entity_id == survey_round.id).order_by(ChangeLog.id)))


def new_round_data(world, **changes) -> dict:
    now = utcnow()
    data = {
        "name": "After the programme", "phase": "after", "questionnaire": str(world.version.id),
        "opens_at": local_input(now + timedelta(days=1)), "closes_at": local_input(now + timedelta(days=8)),
        "groups": [str(world.group.id)], "mode": "single", "allow_finish_later": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def post_form(client, url: str, data: dict):
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def add_group(world, name: str, pupils: int, first: int = 100) -> Group:
    """A partnership group with new pupils of the first school (not in any round yet)."""
    partnership_id = world.partnership.id
    members = [
        Pupil(school_id=world.school.id, upn=make_upn(201, 4000, 15, first + i), first_name=f"New{i}",
              surname="Joiner", year_group=8)
        for i in range(pupils)
    ]
    db.session.add_all(members)
    group = Group(name=name, partnership_id=partnership_id, pupils=members)
    db.session.add(group)
    db.session.commit()
    return group


def scheduled_round(world, **kw) -> SurveyRound:
    now = utcnow()
    values = {"name": "Later", "phase": "during", "questionnaire_version_id": world.version.id,
              "opens_at": now + timedelta(days=2), "closes_at": now + timedelta(days=9),
              "partnership_id": world.partnership.id, "groups": [world.group]}
    values.update(kw)
    survey_round = SurveyRound(**values)
    db.session.add(survey_round)
    db.session.commit()
    return survey_round


# ----- creating ----------------------------------------------------------------------


def test_lead_creates_a_round_with_a_code_for_every_pupil(client, staff_world):
    login_as(client, staff_world.lead)
    page = client.get("/staff/rounds/new")
    assert page.status_code == 200
    # Questionnaire files are loaded when the form opens: both files are offered.
    assert "pass9-primary v" in page.text and "pass9-secondary v" in page.text
    assert "<legend>Groups taking part</legend>" in page.text
    resp = post_form(client, "/staff/rounds/new", new_round_data(
        staff_world, opens_at="2030-07-01T09:00", closes_at="2030-12-01T09:00"))
    assert resp.status_code == 302, resp.text
    survey_round = db.session.scalar(sa.select(SurveyRound).where(SurveyRound.name == "After the programme"))
    assert resp.location.endswith(f"/staff/rounds/{survey_round.id}")
    assert survey_round.partnership_id == staff_world.partnership.id and survey_round.school_id is None
    assert survey_round.created_by_id == staff_world.lead.id
    assert (survey_round.phase, survey_round.mode) == ("after", "single")
    assert survey_round.allow_finish_later is True
    # Wall-clock times in Europe/London: 09:00 BST is 08:00 UTC, 09:00 GMT is 09:00 UTC.
    assert survey_round.opens_at == datetime(2030, 7, 1, 8, 0, tzinfo=UTC)
    assert survey_round.closes_at == datetime(2030, 12, 1, 9, 0, tzinfo=UTC)
    expected = {p.id for p in staff_world.group.pupils}
    assert codes_of(survey_round) == expected and len(expected) == 5
    assert log_actions(survey_round) == ["created"]
    shown = client.get(resp.location)
    assert "5 code(s)" in shown.text and "After the programme" in shown.text


def test_finish_later_can_be_switched_off(client, staff_world):
    login_as(client, staff_world.lead)
    resp = post_form(client, "/staff/rounds/new", new_round_data(staff_world, allow_finish_later=None))
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(SurveyRound.allow_finish_later).where(
        SurveyRound.name == "After the programme")) is False


def _past(days: int) -> str:
    return local_input(utcnow() - timedelta(days=days))


BAD_INPUTS = [
    ({"name": ""}, "Give the round a name."),
    ({"name": "ab"}, "Give the round a name of 3 to 200 characters."),
    ({"name": "x" * 201}, "Give the round a name of 3 to 200 characters."),
    ({"name": "before"}, "There is already a round with this name."),
    ({"phase": "middle"}, "Not a valid choice"),
    ({"questionnaire": "999999"}, "Not a valid choice"),
    ({"opens_at": "tomorrow"}, "Give a date and a time, like 14/03/2026 09:00."),
    ({"opens_at": ""}, "Give the opening date and time."),
    ({"closes_at": None}, "Give the closing date and time."),
    ({"closes_at": "2030-07-01T09:00", "opens_at": "2030-07-02T09:00"},
     "The closing time must be after the opening time."),
    ({"opens_at": None, "closes_at": None}, "Give the opening date and time."),
    ("past", "That closing time has already passed."),
    ({"groups": None}, "Choose at least one group."),
    ("other-group", "is not a valid choice"),
    ({"mode": "scroll"}, "Not a valid choice"),
]


@pytest.mark.parametrize("changes, message", BAD_INPUTS)
def test_bad_round_input_is_refused_with_a_message(client, staff_world, changes, message):
    if changes == "past":
        changes = {"opens_at": _past(9), "closes_at": _past(2)}
    elif changes == "other-group":
        changes = {"groups": [str(staff_world.group.id), str(staff_world.group_b.id)]}
    login_as(client, staff_world.lead)
    rounds_before, codes_before = count(SurveyRound), count(AccessCode)
    resp = post_form(client, "/staff/rounds/new", new_round_data(staff_world, **changes))
    assert resp.status_code == 400
    assert message in resp.text.replace("&#39;", "'")
    assert "There is a problem" in resp.text and 'class="error"' in resp.text
    assert count(SurveyRound) == rounds_before and count(AccessCode) == codes_before
    assert count(ChangeLog, ChangeLog.entity == "round") == 0


def test_every_problem_shows_at_once(client, staff_world):
    login_as(client, staff_world.lead)
    resp = post_form(client, "/staff/rounds/new", new_round_data(
        staff_world, name="before", groups=None, opens_at=_past(9), closes_at=_past(2)))
    assert resp.status_code == 400
    for message in ("There is already a round with this name.", "Choose at least one group.",
                    "That closing time has already passed."):
        assert message in resp.text
    assert 'href="#groups-0"' in resp.text and 'href="#closes_at"' in resp.text


def test_names_are_unique_within_the_owner_only(client, staff_world):
    login_as(client, staff_world.other_lead)
    resp = post_form(client, "/staff/rounds/new", new_round_data(
        staff_world, name="Before", groups=[str(staff_world.group_b.id)]))
    assert resp.status_code == 302
    made = db.session.scalar(sa.select(SurveyRound).where(
        SurveyRound.name == "Before", SurveyRound.school_id == staff_world.other_school.id))
    assert made is not None and codes_of(made) == {staff_world.other_pupil.id}


def test_admin_chooses_the_owner_and_groups_must_belong_to_it(client, staff_world):
    login_as(client, staff_world.admin)
    school_owner = f"school:{staff_world.other_school.id}"
    wrong = post_form(client, "/staff/rounds/new", new_round_data(staff_world, owner=school_owner))
    assert wrong.status_code == 400 and "Group A cannot take part" in wrong.text
    missing = post_form(client, "/staff/rounds/new", new_round_data(staff_world, owner=None))
    assert missing.status_code == 400 and "Choose the partnership or school" in missing.text
    ok = post_form(client, "/staff/rounds/new", new_round_data(
        staff_world, owner=school_owner, groups=[str(staff_world.group_b.id)]))
    assert ok.status_code == 302
    made = db.session.scalar(sa.select(SurveyRound).where(SurveyRound.name == "After the programme"))
    assert made.school_id == staff_world.other_school.id and made.partnership_id is None


# ----- who may do what ---------------------------------------------------------------


def test_teacher_may_not_set_up_or_change_rounds(client, staff_world):
    login_as(client, staff_world.teacher)
    rid = staff_world.round.id
    page = client.get(f"/staff/rounds/{rid}")
    assert page.status_code == 200 and "Change the round" not in page.text
    token = csrf_from(page.text)
    assert client.get("/staff/rounds/new").status_code == 403
    assert client.post("/staff/rounds/new", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/staff/rounds/{rid}/edit").status_code == 403
    for action in ("edit", "open", "close", "extend", "issue-codes"):
        assert client.post(f"/staff/rounds/{rid}/{action}", data={"csrf_token": token}).status_code == 403
    assert count(ChangeLog, ChangeLog.entity == "round") == 0


def test_teacher_sees_only_rounds_of_their_groups(client, staff_world):
    login_as(client, staff_world.teacher)
    page = client.get("/staff/rounds/")
    assert page.status_code == 200
    assert "Before" in page.text and "Elsewhere round" not in page.text
    assert 'scope="col"' in page.text and "<caption class=\"visually-hidden\">Rounds you can see" in page.text
    assert client.get(f"/staff/rounds/{staff_world.round_b.id}").status_code == 404
    assert client.get(f"/staff/rounds/{staff_world.round_b.id}/codes").status_code == 404


def test_rounds_of_another_school_are_not_found(client, staff_world):
    login_as(client, staff_world.lead)
    rid = staff_world.round_b.id
    page = client.get("/staff/rounds/")
    assert "Elsewhere round" not in page.text
    token = csrf_from(page.text)
    assert client.get(f"/staff/rounds/{rid}").status_code == 404
    assert client.get(f"/staff/rounds/{rid}/edit").status_code == 404
    assert client.post(f"/staff/rounds/{rid}/close", data={"csrf_token": token}).status_code == 404
    login_as(client, staff_world.other_lead)
    assert client.get(f"/staff/rounds/{staff_world.round.id}").status_code == 404
    assert client.get(f"/staff/rounds/{rid}").status_code == 200


def test_round_list_and_page_show_state_counts_and_links(client, staff_world):
    scheduled_round(staff_world)
    login_as(client, staff_world.lead)
    page = client.get("/staff/rounds/")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1]
    # Open rounds come first; the scheduled one after.
    assert rows.index("Before") < rows.index("Later")
    assert "state-open" in rows and "state-scheduled" in rows and "pass9-secondary v" in rows
    assert "Group A" in rows and "0 <span class=\"muted\">of 5</span>" in rows
    show = client.get(f"/staff/rounds/{staff_world.round.id}")
    assert show.status_code == 200
    for link in ("/slips", "/slips.pdf", "/codes.csv", "/codes", "/completion"):
        assert f"/staff/rounds/{staff_world.round.id}{link}" in show.text
    assert ">Close now</button>" in show.text and ">Open now</button>" not in show.text


# ----- open, close, extend -----------------------------------------------------------


def test_open_now_close_now_and_extend(client, staff_world):
    survey_round = scheduled_round(staff_world)
    login_as(client, staff_world.lead)
    page = client.get(f"/staff/rounds/{survey_round.id}")
    assert ">Open now</button>" in page.text
    token = csrf_from(page.text)
    url = f"/staff/rounds/{survey_round.id}"

    assert client.post(f"{url}/open", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert survey_round.state(utcnow()) == "open"
    again = client.post(f"{url}/open", data={"csrf_token": token})
    assert again.status_code == 400 and "already open" in again.text

    assert client.post(f"{url}/close", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert survey_round.state(utcnow()) == "closed"
    closed_at = survey_round.closes_at

    earlier = client.post(f"{url}/extend", data={"csrf_token": token,
                                                 "closes_at": local_input(closed_at - timedelta(days=1))})
    assert earlier.status_code == 400 and "later than the current closing time" in earlier.text
    later = utcnow() + timedelta(days=3)
    resp = client.post(f"{url}/extend", data={"csrf_token": token, "closes_at": local_input(later)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert survey_round.state(utcnow()) == "open"
    assert abs(survey_round.closes_at - later) < timedelta(minutes=1)
    assert log_actions(survey_round) == ["opened early", "closed early", "extended"]


def test_actions_need_the_csrf_token(client, staff_world):
    login_as(client, staff_world.lead)
    resp = client.post(f"/staff/rounds/{staff_world.round.id}/close")
    assert resp.status_code == 400
    db.session.expire_all()
    assert staff_world.round.state(utcnow()) == "open"


# ----- changing ----------------------------------------------------------------------


def edit_data(survey_round, **changes) -> dict:
    data = {
        "name": survey_round.name, "phase": survey_round.phase, "mode": survey_round.mode,
        "opens_at": local_input(survey_round.opens_at), "closes_at": local_input(survey_round.closes_at),
        "groups": [str(g.id) for g in survey_round.groups],
        "allow_finish_later": "y" if survey_round.allow_finish_later else None,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_adding_a_group_issues_codes_for_its_pupils(client, staff_world):
    extra = add_group(staff_world, "Group C", 2)
    survey_round = staff_world.round
    login_as(client, staff_world.lead)
    url = f"/staff/rounds/{survey_round.id}/edit"
    page = client.get(url)
    assert 'value="Before"' in page.text and "Group C" in page.text
    resp = post_form(client, url, edit_data(
        survey_round, name="Before (autumn)", mode="single",
        groups=[str(staff_world.group.id), str(extra.id)]))
    assert resp.status_code == 302, resp.text
    db.session.expire_all()
    assert survey_round.name == "Before (autumn)" and survey_round.mode == "single"
    assert codes_of(survey_round) == {p.id for p in staff_world.group.pupils} | {p.id for p in extra.pupils}
    entry = db.session.scalar(sa.select(ChangeLog).where(ChangeLog.action == "edited"))
    assert entry.changes["codes_issued"] == 2 and "groups" in entry.changes and "name" in entry.changes


def test_edit_without_changes_changes_nothing(client, staff_world):
    survey_round = staff_world.round
    login_as(client, staff_world.lead)
    resp = post_form(client, f"/staff/rounds/{survey_round.id}/edit", edit_data(survey_round))
    assert resp.status_code == 302
    assert "Nothing was changed" in client.get(resp.location).text
    assert log_actions(survey_round) == []


def test_edit_removing_a_group_withdraws_unused_codes_but_keeps_started_pupils(client, staff_world):
    extra = add_group(staff_world, "Group C", 2)
    survey_round = staff_world.round
    survey_round.groups.append(extra)
    db.session.commit()
    from survey_app.pupil.codes import issue_codes_for_group

    issue_codes_for_group(db.session, extra.id, utcnow())
    db.session.commit()
    login_as(client, staff_world.lead)
    url = f"/staff/rounds/{survey_round.id}/edit"
    db.session.add(Response(round_id=survey_round.id, pupil_id=extra.pupils[0].id,
                            questionnaire_version_id=staff_world.version.id))
    db.session.commit()
    refused = post_form(client, url, edit_data(survey_round, groups=[str(staff_world.group.id)]))
    assert refused.status_code == 400 and "have already started this round" in refused.text
    db.session.execute(sa.delete(Response))
    db.session.commit()
    ok = post_form(client, url, edit_data(survey_round, groups=[str(staff_world.group.id)]))
    assert ok.status_code == 302
    db.session.expire_all()
    assert codes_of(survey_round) == {p.id for p in staff_world.group.pupils}


def test_edit_refuses_bad_dates_but_keeps_an_unchanged_past_closing_time(client, staff_world):
    survey_round = scheduled_round(staff_world, opens_at=utcnow() - timedelta(days=9),
                                   closes_at=utcnow() - timedelta(days=2))
    login_as(client, staff_world.lead)
    url = f"/staff/rounds/{survey_round.id}/edit"
    renamed = post_form(client, url, edit_data(survey_round, name="Later (closed)"))
    assert renamed.status_code == 302
    bad = post_form(client, url, edit_data(survey_round, closes_at=local_input(survey_round.opens_at)))
    assert bad.status_code == 400 and "must be after the opening time" in bad.text
    yesterday = local_input(utcnow() - timedelta(days=1))
    past = post_form(client, url, edit_data(survey_round, closes_at=yesterday))
    assert past.status_code == 400 and "already passed" in past.text


def test_missing_codes_can_be_made(client, staff_world):
    extra_pupil = Pupil(school_id=staff_world.school.id, upn=make_upn(201, 4000, 15, 300), first_name="Late",
                        surname="Joiner", year_group=9)
    db.session.add(extra_pupil)
    staff_world.group.pupils.append(extra_pupil)
    db.session.commit()
    login_as(client, staff_world.lead)
    page = client.get(f"/staff/rounds/{staff_world.round.id}")
    assert "1 pupil in these groups has no code yet" in page.text
    resp = client.post(f"/staff/rounds/{staff_world.round.id}/issue-codes",
                       data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    assert extra_pupil.id in codes_of(staff_world.round)


# ----- commands ----------------------------------------------------------------------


def test_list_rounds_prints_aligned_columns(runner, staff_world):
    result = runner.invoke(args=["list-rounds"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("ID") and "QUESTIONNAIRE" in lines[0] and "STATE" in lines[0]
    assert len(lines) == 3
    body = {line.split()[0]: line for line in lines[1:]}
    before = body[str(staff_world.round.id)]
    assert "Before" in before and "pass9-secondary v" in before and before.endswith("open")
    when = utc_to_local(staff_world.round.opens_at, "Europe/London").strftime("%Y-%m-%d %H:%M")
    assert when in before
    # Columns line up: every column starts at the same place on each line.
    starts = lines[0].index("PHASE")
    assert all(line[starts:starts + 6] == "before" for line in lines[1:])


def test_codes_command_by_id_and_by_name(runner, staff_world):
    by_id = runner.invoke(args=["codes", "--round", str(staff_world.round.id), "--format", "csv"])
    assert by_id.exit_code == 0, by_id.output
    rows = list(csv.DictReader(io.StringIO(by_id.output)))
    assert list(rows[0]) == ["code", "first_name", "surname", "year_group", "school", "groups", "used"]
    assert len(rows) == 5 and all(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", r["code"]) for r in rows)
    assert {r["used"] for r in rows} == {"no"} and rows[0]["groups"] == "Group A"
    by_name = runner.invoke(args=["codes", "--round", "Before"])
    assert by_name.exit_code == 0
    assert "5 code(s)" in by_name.output
    for row in rows:
        assert row["code"] in by_name.output


def test_codes_command_refuses_unknown_and_ambiguous_rounds(runner, staff_world):
    unknown = runner.invoke(args=["codes", "--round", "No such round"])
    assert unknown.exit_code == 1 and "No survey round has the id or name 'No such round'" in unknown.output
    assert runner.invoke(args=["codes", "--round", "987654"]).exit_code == 1
    twin = scheduled_round(staff_world, name="Before", school_id=staff_world.other_school.id,
                           partnership_id=None, groups=[staff_world.group_b])
    both = runner.invoke(args=["codes", "--round", "Before"])
    assert both.exit_code == 1
    assert f"ids {staff_world.round.id}, {twin.id}" in both.output
    assert runner.invoke(args=["codes", "--round", str(twin.id)]).exit_code == 0


def test_find_round_reads_an_id_before_a_name(staff_world):
    assert find_round(db.session, staff_world.round.id) is staff_world.round
    assert find_round(db.session, " Elsewhere round ") is staff_world.round_b
    with pytest.raises(RoundNotFound):
        find_round(db.session, "")
    with pytest.raises(RoundNotFound):
        find_round(db.session, "9" * 30)
