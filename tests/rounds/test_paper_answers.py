"""Paper answers: typed in by staff, imported from a CSV on the web and by the CLI."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import Answer, ChangeLog, FactorScore, PendingImport, Pupil, Response
from survey_app.models.base import utcnow
from survey_app.rounds.commands import import_answers
from tests.conftest import ROOT, csrf_from, login_as, sign_in_pupil


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def answers_of(pupil) -> dict[str, int]:
    return dict(db.session.execute(
        sa.select(Answer.item, Answer.value).join(Response).where(Response.pupil_id == pupil.id)).all())


def response_of(pupil) -> Response | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Response).where(Response.pupil_id == pupil.id))


# ----- typed in by staff -------------------------------------------------------------


def entry_url(world, pupil, survey_round=None) -> str:
    return f"/staff/rounds/{(survey_round or world.round).id}/pupils/{pupil.id}/paper"


def post_entry(client, world, pupil, answers: dict, finish=False):
    page = client.get(entry_url(world, pupil))
    data = {"csrf_token": csrf_from(page.text), **answers}
    data["finish" if finish else "save"] = "1"
    return client.post(entry_url(world, pupil), data=data)


def test_form_has_a_fieldset_per_statement_and_saves(client, staff_world):
    w = staff_world
    login_as(client, w.teacher)
    page = client.get(entry_url(w, w.pupils[1]))
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert page.text.count("<fieldset") == 50 and page.text.count("<legend>") == 50
    assert w.q.statements[0].text in page.text and '<label for="q1-0">Yes, a lot</label>' in page.text
    assert re.search(r'id="q1-4"[^>]*value=""|value=""[^>]*id="q1-4"', page.text)  # "No answer"

    resp = post_entry(client, w, w.pupils[1], {"q1": "4", "q2": "1", "q3": ""})
    assert resp.status_code == 302 and f"/staff/rounds/{w.round.id}/completion" in resp.location
    assert answers_of(w.pupils[1]) == {"s01": 4, "s02": 1}
    response = response_of(w.pupils[1])
    assert (response.entered_by, response.entered_by_staff_id) == ("staff", w.teacher.id)
    assert response.finished_at is None
    log = db.session.scalars(sa.select(ChangeLog).where(ChangeLog.entity == "response")).one()
    assert log.staff_id == w.teacher.id and log.changes["answers"] == {"s01": [None, 4], "s02": [None, 1]}
    # Pre-filled on the next visit; "No answer" removes an answer.
    page = client.get(entry_url(w, w.pupils[1]))
    assert re.search(r'id="q1-0"[^>]*checked|checked[^>]*id="q1-0"', page.text.replace("\n", " "))
    post_entry(client, w, w.pupils[1], {"q1": ""})
    assert answers_of(w.pupils[1]) == {"s02": 1}


def test_staff_entry_continues_an_online_response(app, client, staff_world):
    w = staff_world
    pupil = app.test_client()
    page = sign_in_pupil(pupil, w.code_of(0))
    pupil.post("/survey/p/1", data={"csrf_token": csrf_from(page.text), "q1": "2", "q2": "2", "nav": "next"})
    online = response_of(w.pupils[0])
    login_as(client, w.lead)
    assert post_entry(client, w, w.pupils[0], {"q2": "4", "q5": "3"}).status_code == 302
    response = response_of(w.pupils[0])
    assert response.id == online.id and response.entered_by == "staff"
    assert answers_of(w.pupils[0]) == {"s01": 2, "s02": 4, "s05": 3}
    assert count(Response) == 1


def test_finish_stores_scores_and_a_finished_response_cannot_change(client, staff_world):
    w = staff_world
    login_as(client, w.teacher)
    answers = {f"q{i}": "3" for i in range(1, 51)}
    resp = post_entry(client, w, w.pupils[2], answers, finish=True)
    assert resp.status_code == 302
    response = response_of(w.pupils[2])
    assert response.finished_at is not None
    scores = db.session.scalars(sa.select(FactorScore).where(FactorScore.response_id == response.id)).all()
    assert len(scores) == 9 and all(s.score is not None for s in scores)

    page = client.get(entry_url(w, w.pupils[2]))
    assert page.status_code == 200 and "cannot be changed" in page.text and "<fieldset" not in page.text
    resp = client.post(entry_url(w, w.pupils[2]), data={"csrf_token": csrf_from(page.text), "q1": "1",
                                                       "save": "1"})
    assert resp.status_code == 409 and "cannot be changed" in resp.text
    assert answers_of(w.pupils[2])["s01"] == 3


@pytest.mark.parametrize("answers, finish, words", [
    ({"q1": "4", "q2": "7"}, False, "not one of the choices"),
    ({"q1": "Yes"}, False, "not one of the choices"),
    ({"q1": "4", "q51": "4"}, False, "not part of this survey"),
    ({"q1": ""}, True, "at least one answer"),
])
def test_bad_entries_are_refused_and_write_nothing(client, staff_world, answers, finish, words):
    w = staff_world
    login_as(client, w.teacher)
    resp = post_entry(client, w, w.pupils[3], answers, finish=finish)
    assert resp.status_code == 400 and words in resp.text and "Nothing was saved" in resp.text
    assert count(Response) == 0 and count(Answer) == 0 and count(ChangeLog) == 0


def test_missing_csrf_is_refused(client, staff_world):
    login_as(client, staff_world.teacher)
    resp = client.post(entry_url(staff_world, staff_world.pupils[0]), data={"q1": "4", "save": "1"})
    assert resp.status_code == 400 and count(Answer) == 0


def test_entry_scope(client, staff_world):
    w = staff_world
    assert client.get(entry_url(w, w.pupils[0])).status_code == 302  # anonymous: sign in
    login_as(client, w.teacher_b)
    assert client.get(entry_url(w, w.pupils[0])).status_code == 404  # round and pupil not theirs
    assert client.get(entry_url(w, w.other_pupil, w.round_b)).status_code == 200
    login_as(client, w.teacher)
    assert client.get(entry_url(w, w.other_pupil)).status_code == 404  # not theirs, not in the round
    assert client.get(entry_url(w, w.pupils[0], w.round_b)).status_code == 404
    outside = Pupil(school=w.school, upn="A123456789012", first_name="Nia", surname="Nogroup", year_group=8)
    db.session.add(outside)
    db.session.commit()
    login_as(client, w.lead)
    assert client.get(entry_url(w, outside)).status_code == 404  # in scope, not in the round
    assert client.get(entry_url(w, w.other_pupil, w.round_b)).status_code == 404


def test_closed_rounds_take_paper_but_scheduled_ones_do_not(client, staff_world):
    w = staff_world
    login_as(client, w.teacher)
    w.round.closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert post_entry(client, w, w.pupils[0], {"q1": "4"}).status_code == 302
    assert answers_of(w.pupils[0]) == {"s01": 4}
    w.round.opens_at = utcnow() + timedelta(days=1)
    w.round.closes_at = utcnow() + timedelta(days=2)
    db.session.commit()
    page = client.get(entry_url(w, w.pupils[1]))
    assert "not opened yet" in page.text
    resp = client.post(entry_url(w, w.pupils[1]), data={"csrf_token": csrf_from(page.text), "q1": "4"})
    assert resp.status_code == 409 and count(Response) == 1


# ----- imported from a CSV -------------------------------------------------------------


def csv_text(rows: list[list[str]], header=None) -> str:
    out = io.StringIO()
    csv.writer(out).writerows([header or ["UPN", "s01", "s02", "s03"], *rows])
    return out.getvalue()


def upload(client, world, text: str | bytes, filename="answers.csv"):
    page = client.get(f"/staff/rounds/{world.round.id}/paper-answers")
    data = text.encode() if isinstance(text, str) else text
    # Encoded by hand: the test client spools big multipart bodies to a file it never closes.
    boundary = "paper-answers-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{csrf_from(page.text)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="file"; filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n').encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"/staff/rounds/{world.round.id}/paper-answers", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def confirm(client, preview_url):
    page = client.get(preview_url)
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', page.text).group(1)
    return client.post(preview_url + "/confirm", data={"csrf_token": csrf_from(page.text), "digest": digest})


def test_preview_reports_each_row_problem_then_confirm_imports_and_scores(app, client, staff_world):
    w = staff_world
    p = w.pupils
    # Pupil 2 has begun online; pupil 3 has finished online.
    other = app.test_client()
    page = sign_in_pupil(other, w.code_of(2))
    other.post("/survey/p/1", data={"csrf_token": csrf_from(page.text), "q4": "1", "nav": "next"})
    finisher = app.test_client()
    sign_in_pupil(finisher, w.code_of(3))
    finisher.post("/survey/finish", data={"csrf_token": csrf_from(finisher.get("/survey/check").text)})
    login_as(client, w.lead)
    text = csv_text([
        [p[0].upn, "4", "yes, A LOT", "1"],                 # 2: good, labels in any case
        [p[1].upn.lower(), "3", "", ""],                    # 3: good
        [p[2].upn, "", "No, not much", ""],                 # 4: good, continues online
        [p[3].upn, "4", "4", "4"],                          # 5: already finished
        [w.other_pupil.upn, "4", "4", "4"],                 # 6: not in this round
        [w.pupil2.upn, "4", "5", "maybe"],                  # 7: two values off the scale
        [w.pupil2.upn, "", "", ""],                         # 8: duplicate, and no answers
        ["", "4", "", ""],                                  # 9: no UPN
        ["", "", "", ""],                                   # 10: blank, skipped quietly
    ], header=["UPN", "s01", "s02", "s04"])
    resp = upload(client, w, text)
    assert resp.status_code == 302
    preview_url = resp.location
    page = client.get(preview_url)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    html = page.text.replace("&#39;", "'")
    assert "Import 3 responses; leave out 5 refused rows" in html
    refused = html[html.index("problems-table"):]
    refused = refused[:refused.index("</table>")]
    bad = dict(re.findall(r'"num">(\d+)</th>\s*<td class="mono">[^<]*</td>\s*<td>(.*?)</td>', refused, re.S))
    assert set(bad) == {"5", "6", "7", "8", "9"}
    assert "already finished" in bad["5"]
    assert "No pupil with this UPN is in this round" in bad["6"]
    assert "s02 (column C): '5' is not on the scale" in bad["7"] and "s04 (column D): 'maybe'" in bad["7"]
    assert "also on row 8" in bad["7"] and "also on row 7" in bad["8"] and "no answers" in bad["8"]
    assert "UPN is missing" in bad["9"]
    assert count(Response, Response.entered_by == "import") == 0  # a preview writes nothing

    resp = confirm(client, preview_url)
    assert resp.status_code == 302 and resp.location.endswith(f"/staff/rounds/{w.round.id}/completion")
    assert answers_of(p[0]) == {"s01": 4, "s02": 4, "s04": 1} and answers_of(p[1]) == {"s01": 3}
    assert answers_of(p[2]) == {"s02": 2, "s04": 1}  # the online answer kept
    for pupil in p[:3]:
        response = response_of(pupil)
        assert response.entered_by == "import" and response.entered_by_staff_id == w.lead.id
        assert response.finished_at is not None
        assert count(FactorScore, FactorScore.response_id == response.id) == 9
    assert response_of(w.pupil2) is None and count(PendingImport) == 0
    assert count(ChangeLog, ChangeLog.action == "paper answers imported") == 3
    assert "Imported 3 responses (5 answers)" in client.get(resp.location).text

    # The same file again: the imported rows are finished now, so nothing more can be imported.
    again = client.get(upload(client, w, text).location).text
    assert "Nothing in this file can be imported" in again and again.count("already finished") == 4


@pytest.mark.parametrize("content, filename, words", [
    (csv_text([["X", "4", "4", "4"]], header=["UPN", "s01", "Name", "s99"]), "a.csv",
     "not statements of pass9-secondary: 'Name', 's99'"),
    (csv_text([["X", "4"]], header=["Pupil", "s01"]), "a.csv", "no 'UPN' column"),
    (csv_text([["X", "4", "4"]], header=["UPN", "s01", "S01"]), "a.csv", "more than once"),
    (b"PK\x03\x04rest-of-a-workbook", "answers.xlsx", "spreadsheet workbook"),
    (b"UPN,s01\nX,4\n", "answers.txt", "Upload a CSV file"),
    ("UPN,s01\nRenée,4\n".encode("latin-1"), "a.csv", "not UTF-8"),
    (b"UPN,s01\n" + b"A123456789012,4\n" * 70000, "a.csv", "the limit is 1 MB"),
])
def test_files_that_cannot_be_imported_say_why(client, staff_world, content, filename, words):
    login_as(client, staff_world.lead)
    resp = upload(client, staff_world, content, filename)
    assert resp.status_code == 400 and words in resp.text.replace("&#39;", "'")
    assert count(PendingImport) == 0


def test_confirm_refuses_a_preview_that_went_stale(app, client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    preview_url = upload(client, w, csv_text([[w.pupils[0].upn, "4", "4", "4"]])).location
    page = client.get(preview_url)
    pupil = app.test_client()
    sign_in_pupil(pupil, w.code_of(0))
    pupil.post("/survey/finish", data={"csrf_token": csrf_from(pupil.get("/survey/check").text)})
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', page.text).group(1)
    resp = client.post(preview_url + "/confirm", data={"csrf_token": csrf_from(page.text), "digest": digest})
    assert resp.status_code == 409 and "nothing was imported" in resp.text
    assert count(Answer) == 0


def test_import_pages_are_for_leads_in_scope(client, staff_world):
    w = staff_world
    base = f"/staff/rounds/{w.round.id}"
    login_as(client, w.teacher)
    for path in ("/paper-answers", "/paper-template.csv"):
        assert client.get(base + path).status_code == 403
    login_as(client, w.other_lead)
    assert client.get(base + "/paper-answers").status_code == 404
    login_as(client, w.lead)
    preview_url = upload(client, w, csv_text([[w.pupils[0].upn, "4", "4", "4"]])).location
    login_as(client, w.admin)  # someone else's upload is not theirs to confirm
    assert client.get(preview_url).status_code == 404
    login_as(client, w.teacher)
    assert client.get(preview_url).status_code == 403
    login_as(client, w.other_lead)
    assert client.get(preview_url).status_code == 404
    login_as(client, w.lead)
    page = client.get(preview_url)
    resp = client.post(preview_url + "/cancel", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302 and count(PendingImport) == 0 and count(Answer) == 0


def test_template_lists_pupils_not_finished(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    post_entry(client, w, w.pupils[0], {f"q{i}": "2" for i in range(1, 51)}, finish=True)
    resp = client.get(f"/staff/rounds/{w.round.id}/paper-template.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    lines = resp.text.splitlines()
    assert lines[0] == "UPN," + ",".join(s.id for s in w.q.statements)
    upns = {line.split(",")[0] for line in lines[1:]}
    assert upns == {p.upn for p in [*w.pupils[1:], w.pupil2]}


# ----- the CLI -------------------------------------------------------------------------


def test_cli_dry_run_then_import(runner, staff_world, tmp_path):
    w = staff_world
    path = tmp_path / "answers.csv"
    path.write_text(csv_text([[w.pupils[0].upn, "4", "Yes, a little", ""], [w.pupil2.upn, "1", "", "2"]]))
    result = runner.invoke(import_answers, ["--round", "Before", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 can be imported" in result.output and "Nothing was written" in result.output
    assert count(Response) == 0
    result = runner.invoke(import_answers, ["--round", str(w.round.id), str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 responses (2 new, 0 continued; 4 answers)" in result.output
    assert answers_of(w.pupils[0]) == {"s01": 4, "s02": 3}
    response = response_of(w.pupil2)
    assert response.entered_by == "import" and response.entered_by_staff_id is None
    assert response.finished_at is not None and count(FactorScore) == 18
    # Running it again refuses both rows (already finished) and exits 1.
    result = runner.invoke(import_answers, ["--round", "Before", str(path)])
    assert result.exit_code == 1 and result.output.count("already finished") == 2


def test_cli_refused_rows_write_nothing(runner, staff_world, tmp_path):
    w = staff_world
    path = tmp_path / "answers.csv"
    path.write_text(csv_text([[w.pupils[0].upn, "4", "4", "4"], [w.pupils[1].upn, "9", "", ""]]))
    result = runner.invoke(import_answers, ["--round", "Before", str(path)])
    assert result.exit_code == 1
    assert "row 3" in result.output and "'9' is not on the scale" in result.output
    assert count(Response) == 0 and count(Answer) == 0
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text(csv_text([], header=["UPN", "q1"]))
    result = runner.invoke(import_answers, ["--round", "Before", str(bad_header)])
    assert result.exit_code == 1 and "'q1'" in result.output
    result = runner.invoke(import_answers, ["--round", "No such round", str(path)])
    assert result.exit_code == 1 and "No survey round" in result.output


# ----- reading cells ---------------------------------------------------------------------


def test_cells_read_as_numbers_or_labels_in_any_case():
    from survey_app.questionnaires import load_questionnaire
    from survey_app.rounds.paper_import import column_letter, scale_reader

    read = scale_reader(load_questionnaire(ROOT / "questionnaires" / "pass9-secondary.toml"))
    assert [read(c) for c in ("4", "1.0", "Yes, a lot", "yes a lot", "NO - NOT MUCH")] == [4, 1, 4, 4, 2]
    assert [read(c) for c in ("5", "0", "1.5", "maybe", "Yes")] == [None] * 5
    assert [column_letter(i) for i in (0, 25, 26, 50)] == ["A", "Z", "AA", "AY"]


def test_semicolon_files_from_european_spreadsheets_are_read(client, staff_world):
    w = staff_world
    login_as(client, w.lead)
    resp = upload(client, w, f"UPN;s01;s02\n{w.pupils[0].upn};4;Yes, a little\n")
    assert resp.status_code == 302
    assert "Import 1 response" in client.get(resp.location).text


def test_a_file_over_the_row_limit_is_refused_naming_the_limit(app, client, runner, staff_world, tmp_path):
    w = staff_world
    rows = [[f"A{n:012d}", "4", "4", "4"] for n in range(5001)]
    login_as(client, w.lead)
    resp = upload(client, w, csv_text(rows))
    assert resp.status_code == 400
    assert "more than 5,000 rows of answers; the limit is 5,000 in one file" in resp.text
    assert count(PendingImport) == 0
    assert upload(client, w, csv_text(rows[:5000])).status_code == 302  # at the limit: checked as usual
    app.config["PAPER_IMPORT_MAX_ROWS"] = 100
    path = tmp_path / "answers.csv"
    path.write_text(csv_text(rows[:101]))
    result = runner.invoke(import_answers, ["--round", "Before", str(path)])
    assert result.exit_code == 1 and "the limit is 100 in one file" in result.output


def test_a_upn_repeated_on_many_rows_is_found_in_one_pass_and_named_briefly(app, staff_world):
    """Every row of a file with one UPN 5,000 times: each says the UPN is repeated, naming a
    few rows and how many more (the message used to list every other row: 5,000 lists of
    4,999 numbers)."""
    from survey_app.rounds.paper_import import check_answers_csv

    w = staff_world
    check = check_answers_csv(db.session, w.round, csv_text([[w.pupils[0].upn, "4", "4", "4"]] * 5000), None,
                              utcnow())
    assert check.good == [] and len(check.bad) == 5000
    assert check.bad[0].problems == ("This UPN is also on rows 3, 4, 5, 6, 7 and 4,994 more; keep one row per pupil.",)
    assert check.bad[-1].problems[0] == (
        "This UPN is also on rows 2, 3, 4, 5, 6 and 4,994 more; keep one row per pupil.")
    two = check_answers_csv(db.session, w.round, csv_text([[w.pupils[0].upn, "4", "", ""]] * 2), None, utcnow())
    assert [b.problems for b in two.bad] == [("This UPN is also on row 3; keep one row per pupil.",),
                                            ("This UPN is also on row 2; keep one row per pupil.",)]
