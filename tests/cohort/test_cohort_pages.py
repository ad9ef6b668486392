"""The cohort change page, its downloads, background exports and the cohort commands."""

from __future__ import annotations

import csv
import io
import re
import time

import pandas as pd
import pingouin
import pytest

from survey_app.db import db
from survey_app.models import AuditEvent, Job
from tests.cohort_data import add_pupils, add_rounds, fill, item_rows
from tests.conftest import csrf_from, login_as, need_chart_browser


@pytest.fixture
def cohort(staff_world):
    rounds = add_rounds(staff_world, names=("After",))
    pupils = add_pupils(staff_world, 30)
    fill(staff_world, rounds, pupils, seed=3, attendance=0.95)
    return staff_world, rounds


def query(rounds, **extra):
    parts = [f"round={r.id}" for r in rounds] + [f"{k}={v}" for k, v in extra.items()]
    return "&".join(parts)


def test_page_without_rounds_offers_the_choice(client, cohort):
    world, rounds = cohort
    login_as(client, world.lead)
    page = client.get("/staff/cohort/")
    assert page.status_code == 200
    assert "Tick two or more rounds" in page.text
    for r in rounds:
        assert f'value="{r.id}"' in page.text


def test_page_shows_the_report_for_a_selection(client, cohort):
    world, rounds = cohort
    login_as(client, world.lead)
    page = client.get(f"/staff/cohort/?{query(rounds, split='fsm')}")
    assert page.status_code == 200, page.text
    assert "Change from &ldquo;Before&rdquo; to &ldquo;After&rdquo;" in page.text
    assert "Paired change per factor" in page.text
    assert "Cronbach&rsquo;s alpha per factor" in page.text
    assert 'data-chart="chart-change"' in page.text
    assert "fewer than 5 pupils" in page.text
    # The selection is in the address: the form shows the chosen rounds ticked.
    assert page.text.count("checked") >= 2


@pytest.mark.parametrize("bad", ["round=abc", "round=1&fsm=maybe", "round=1&sen=Z", "round=1&year=99",
                                 "round=1&split=planet", "round=1&round=999999"])
def test_bad_selection_is_refused_in_words(client, staff_world, bad):
    world, rounds = staff_world, add_rounds(staff_world, names=("After",))
    db.session.commit()
    login_as(client, world.lead)
    page = client.get(f"/staff/cohort/?{bad}&round={rounds[-1].id}")
    assert page.status_code == 400
    assert "This selection cannot be shown" in page.text
    assert "Traceback" not in page.text


def test_rounds_outside_scope_are_not_shown(client, cohort):
    world, rounds = cohort
    login_as(client, world.other_lead)
    page = client.get(f"/staff/cohort/?{query(rounds)}")
    assert page.status_code == 400
    assert "not yours to see" in page.text
    download = client.get(f"/staff/cohort/download/csv?{query(rounds)}")
    assert download.status_code == 400


def test_sign_in_required(client, cohort):
    _, rounds = cohort
    page = client.get(f"/staff/cohort/?{query(rounds)}")
    assert page.status_code == 302 and "/staff/sign-in" in page.headers["Location"] or page.status_code == 401


def test_csv_download_matches_the_report_and_is_audited(client, cohort):
    world, rounds = cohort
    login_as(client, world.lead)
    resp = client.get(f"/staff/cohort/download/csv?{query(rounds)}")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8-sig")
    assert "Feelings about school" in text or "feelings_about_school" in text
    assert list(csv.reader(io.StringIO(text)))
    from survey_app.audit.log import EXPORTED

    events = db.session.query(AuditEvent).filter_by(action=EXPORTED).all()
    assert events and events[-1].detail["format"] == "csv" and events[-1].detail["what"] == "cohort change (csv)"


def test_xlsx_download_opens(client, cohort):
    from openpyxl import load_workbook

    world, rounds = cohort
    login_as(client, world.lead)
    resp = client.get(f"/staff/cohort/download/xlsx?{query(rounds)}")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.data))
    assert len(book.sheetnames) >= 3


def test_chart_download_needs_a_known_chart(client, cohort):
    world, rounds = cohort
    login_as(client, world.lead)
    assert client.get(f"/staff/cohort/download/png?{query(rounds)}").status_code == 400
    assert client.get(f"/staff/cohort/download/png?{query(rounds, chart='nope')}").status_code == 400
    assert client.get(f"/staff/cohort/download/exe?{query(rounds)}").status_code == 404
    html = client.get(f"/staff/cohort/download/html?{query(rounds, chart='change')}")
    assert html.status_code == 200 and b"<html" in html.data.lower()
    # Self-contained: no script or stylesheet fetched from anywhere (plotly.js is inlined).
    assert not re.search(rb"<(script|link)[^>]+(src|href)=[\"']?https?:", html.data)
    assert b"<script src=" not in html.data


def test_chart_images_are_drawn_outside_the_web_process(client, cohort, monkeypatch):
    """The browser that draws images runs in another process (the server's chart drawer),
    never in the worker: drawing in this process fails the test; a missing browser is a
    503 in words."""
    from survey_app.cohort.exports import tasks

    need_chart_browser()
    world, rounds = cohort
    login_as(client, world.lead)

    def not_here(*args, **kwargs):
        raise AssertionError("drawn in the web process")

    monkeypatch.setattr(tasks, "export_report", not_here)  # the tasks a drawer or child does
    monkeypatch.setattr(tasks, "chart_images", not_here)
    png = client.get(f"/staff/cohort/download/png?{query(rounds, chart='change')}")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.headers["Content-Disposition"].startswith("attachment")
    printed = client.get(f"/staff/cohort/report?{query(rounds)}")
    assert printed.status_code == 200 and printed.text.count("data:image/svg+xml") >= 3
    monkeypatch.setenv("CHROMIUM_PATH", "/nonexistent/chromium")
    missing = client.get(f"/staff/cohort/download/svg?{query(rounds, chart='means')}")
    assert missing.status_code == 503 and "Traceback" not in missing.text
    assert "chromium" in missing.text.lower() and "tell your administrator" in missing.text


def test_background_export_needs_csrf_and_runs(client, cohort):
    world, rounds = cohort
    login_as(client, world.lead)
    refused = client.post("/staff/cohort/exports", data={"format": "zip", "selection": query(rounds)})
    assert refused.status_code == 400
    assert db.session.query(Job).count() == 0
    page = client.get(f"/staff/cohort/?{query(rounds)}")
    token = csrf_from(page.text)
    bad = client.post("/staff/cohort/exports", data={"format": "exe", "selection": query(rounds),
                                                     "csrf_token": token})
    assert bad.status_code == 400 and db.session.query(Job).count() == 0
    started = client.post("/staff/cohort/exports", data={"format": "zip", "selection": query(rounds),
                                                         "csrf_token": token})
    assert started.status_code == 302
    status_url = started.headers["Location"]
    assert client.get(status_url).status_code == 200
    deadline = time.monotonic() + 120
    state = {}
    while time.monotonic() < deadline:
        state = client.get(status_url + ".json").get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert state["status"] == "done", state
    file = client.get(state["download"])
    assert file.status_code == 200 and file.data[:2] == b"PK"
    # Someone else cannot see or download it.
    login_as(client, world.other_lead)
    assert client.get(status_url).status_code == 404
    assert client.get(state["download"]).status_code == 404


def test_reliability_command(runner, cohort):
    world, rounds = cohort
    result = runner.invoke(args=["reliability", "--round", str(rounds[0].id), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["factor"] for r in rows] == [f.key for f in world.q.factors]
    for row in rows:
        items = item_rows(world.q, rounds[0].id, row["factor"])
        assert int(row["n"]) == len(items)
        assert int(row["statements"]) == len(world.q.statements_of(row["factor"]))
        expected = pingouin.cronbach_alpha(pd.DataFrame(items))[0]
        assert float(row["alpha"]) == pytest.approx(expected, abs=5e-5)
    table = runner.invoke(args=["reliability", "--round", rounds[0].name])
    assert table.exit_code == 0 and "feelings_about_school" in table.output
    missing = runner.invoke(args=["reliability", "--round", "no such round"])
    assert missing.exit_code == 1 and "No survey round" in missing.output


def test_export_cohort_command(runner, cohort, tmp_path):
    world, rounds = cohort
    out = tmp_path / "cohort.csv"
    result = runner.invoke(args=["export-cohort", "--round", str(rounds[0].id), "--round", str(rounds[1].id),
                                 "--school", world.school.urn, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "%]" in result.output  # progress lines
    assert out.exists() and out.stat().st_size > 0
    bad = runner.invoke(args=["export-cohort", "--round", str(rounds[0].id), "--format", "csv",
                              "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 1 and "at least two rounds" in bad.output
    assert not (tmp_path / "x.csv").exists()
