"""A lead picks a cohort in the browser, reads the statistics and downloads every export;
each downloaded file is opened and checked."""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from axe_playwright_python.sync_playwright import Axe
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from survey_app.accounts.scope import Scope
from survey_app.cohort.build import cohort_report
from survey_app.cohort.selection import CohortSelection, Split
from survey_app.db import db
from survey_app.extensions import limiter
from survey_app.models.base import utcnow
from tests.browser.staff import collect_axe, sign_in_staff, start_axe
from tests.browser.support import save_screenshot
from tests.cohort_data import add_pupils, add_rounds, fill
from tests.conftest import _reset_tables, make_test_app
from tests.jobs.conftest import Worker

SHOTS = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else None


@pytest.fixture
def app(database_url, tmp_path):
    """The app queueing its exports for a real worker process (`flask worker`), as in use:
    the PDF report and the ZIP are made by the worker while the page shows the progress."""
    settings = {"JOBS_QUEUE": "sqlite", "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3"),
                "JOBS_QUEUE_NAME": f"browser-{uuid.uuid4().hex[:8]}", "SQLALCHEMY_DATABASE_URI": database_url}
    app = make_test_app(database_url, **settings)
    with app.app_context():
        _reset_tables(database_url)
        limiter.reset()
        worker = Worker(settings, tmp_path / "worker.log")
        try:
            yield app
        finally:
            worker.stop()
            db.session.remove()
            db.engine.dispose()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    assert data[:5] == b"%PDF-"
    return len(PdfReader(io.BytesIO(data)).pages)


def download(page: Page, action) -> tuple[str, bytes]:
    # Chart images are drawn by a fresh child process (browser start included): a few
    # seconds on a quiet machine, much longer on a busy one.
    with page.expect_download(timeout=90_000) as info:
        action()
    d = info.value
    return d.suggested_filename, Path(d.path()).read_bytes()


@pytest.fixture
def cohort_world(staff_world):
    rounds = add_rounds(staff_world, names=("After",))
    pupils = add_pupils(staff_world, 40)
    for p in pupils[:20]:
        p.fsm = True
    fill(staff_world, rounds, pupils, seed=11, attendance=0.95)
    return staff_world, rounds


def test_lead_reads_the_cohort_change_and_downloads_every_export(app, new_context, cohort_world):
    world, rounds = cohort_world
    expected = cohort_report(db.session, Scope(world.lead),
                             CohortSelection(round_ids=tuple(r.id for r in rounds), split=Split("fsm")),
                             utcnow(), 5)
    db.session.commit()
    first = expected.main.comparisons[0].factors[0]

    page = new_context(accept_downloads=True).new_page()
    sign_in_staff(page, world.lead.email)
    page.get_by_role("link", name="Cohort change").click()
    expect(page.locator("h1")).to_have_text("Cohort change")
    for r in rounds:
        page.get_by_label(re.compile(r.name)).check()
    page.get_by_label("Compare two sub-groups side by side").select_option("fsm")
    page.get_by_role("button", name="Show the change").click()
    heading = f"Change from \u201c{rounds[0].name}\u201d to \u201c{rounds[1].name}\u201d"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    # The selection is in the address, so the view can be bookmarked and shared.
    assert f"round={rounds[0].id}" in page.url and "split=fsm" in page.url
    row = page.locator("table.stats-table").first.locator("tbody tr").first
    expect(row).to_contain_text(f"{first.mean_change:+.1f}")
    expect(row).to_contain_text(str(first.n_paired))
    expect(page.get_by_role("heading", name="FSM against Not FSM")).to_be_visible()
    expect(page.locator("[data-chart='chart-change'] .main-svg").first).to_be_visible()
    axe = Axe()
    start_axe(page, axe)
    violations = collect_axe(page)
    assert violations == [], [(v["id"], v["nodes"][0]["target"]) for v in violations]
    if SHOTS:
        save_screenshot(page, SHOTS, "cohort-change", "desktop")

    # Tables as CSV and XLSX.
    name, data = download(page, lambda: page.get_by_role("link", name="Tables as CSV").click())
    assert name.endswith(".csv")
    text = data.decode("utf-8-sig")
    assert expected.selection_label in text and "withheld" in text.lower()
    rows = list(csv.reader(io.StringIO(text)))
    assert any(f"{first.mean_change:.2f}" in ",".join(r) or f"{first.mean_change:.1f}" in ",".join(r) for r in rows)
    name, data = download(page, lambda: page.get_by_role("link", name="Tables as Excel (XLSX)").click())
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "About" and len(book.sheetnames) >= 5
    numbers = [c.value for sheet in book.worksheets[1:] for r in sheet.iter_rows() for c in r
               if isinstance(c.value, (int, float))]
    assert any(abs(v - first.mean_change) < 1e-6 or abs(v - round(first.mean_change, 2)) < 1e-9 for v in numbers)
    assert all(sheet.freeze_panes for sheet in book.worksheets[1:])

    # The change chart as PNG, SVG, PDF and interactive HTML.
    figure = page.locator("figure.cohort-chart").first
    name, data = download(page, lambda: figure.get_by_role("link", name="PNG").click())
    width, height = png_size(data)
    assert width >= 800 and height >= 400
    name, data = download(page, lambda: figure.get_by_role("link", name="SVG").click())
    assert ElementTree.fromstring(data).tag.endswith("svg")  # noqa: S314 - our own file
    name, data = download(page, lambda: figure.get_by_role("link", name="PDF").click())
    assert pdf_pages(data) == 1
    name, data = download(page, lambda: figure.get_by_role("link", name="interactive HTML").click())
    html = data.decode("utf-8")
    assert "Plotly" in html and not re.search(r"<script[^>]+src=[\"']https?://", html)

    # The printable report opens as a page.
    page.get_by_role("link", name="Printable report").click()
    expect(page.locator("h1").first).to_be_visible()
    assert expected.selection_label in page.content()
    if SHOTS:
        save_screenshot(page, SHOTS, "cohort-report-print", "desktop")
    page.go_back()

    # The PDF report and the ZIP run in the background with progress.
    for button, check in (("Report as PDF", lambda d: pdf_pages(d) >= 3),
                          ("Everything as a ZIP", lambda d: len(zipfile.ZipFile(io.BytesIO(d)).namelist()) >= 10)):
        page.get_by_role("button", name=button).click()
        expect(page.locator("#export-progress")).to_be_visible()
        link = page.locator("#export-download a")
        expect(link).to_be_visible(timeout=120_000)
        if SHOTS and button.startswith("Report"):
            save_screenshot(page, SHOTS, "cohort-export-ready", "desktop")
        name, data = download(page, link.click)
        assert check(data), name
        page.go_back()
