"""Charts and exports of the cohort change report, from hand-built reports (no database).

Tests that draw images need Debian's Chromium (/usr/bin/chromium): without it they are
skipped with the reason shown, and with REQUIRE_BROWSER=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import threading
import zipfile
from dataclasses import replace

import pytest
from defusedxml import ElementTree

from survey_app.charts import plotly_js_path
from survey_app.charts.cohort import CHARTS, available_charts, forest_figure, subgroup_figure
from survey_app.charts.cohort_counts import band_summary
from survey_app.cohort.exports import FORMATS, ExportError, export_filename, export_report
from survey_app.cohort.exports.interactive import interactive_html
from survey_app.cohort.exports.report import ChartImage, report_html
from survey_app.cohort.exports.tables import build_tables, tables_csv, tables_xlsx
from survey_app.scoring.cohort_report import BandMovement
from tests.cohort_sample import FACTORS, sample_report
from tests.conftest import need_chart_browser

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def report():
    return sample_report()


# ---- charts (plain figures, no browser) ----

@pytest.mark.parametrize("subgroups, comparisons", [(True, 2), (False, 2), (True, 1), (False, 1)])
def test_every_chart_builds_and_describes_itself(subgroups, comparisons):
    rep = sample_report(subgroups=subgroups, comparisons=comparisons)
    charts = available_charts(rep)
    expected = [n for n in CHARTS if n != "subgroups" or subgroups]
    assert list(charts) == expected
    for _name, (_title, build) in charts.items():
        fig = build(rep)
        footer = fig.layout.annotations[-1].text
        assert "Years 7, 8 \u00b7 Free school meals \u00b7 Group A" in footer
        assert "pass9-secondary version 1.0" in footer
        assert "fewer than 5 pupils are withheld" in footer
        assert "1 Jul 2026, 14:45" in footer  # 13:45 UTC shown in Europe/London (BST)
        assert "Autumn baseline (Sep 2025)" in footer
        assert fig.layout.title.text


def test_forest_plot_lists_a_withheld_factor_instead_of_a_point(report):
    fig = forest_figure(report)
    spring, summer = fig.data
    assert len(spring.x) == 9
    assert len(summer.x) == 8  # attendance is withheld in the summer comparison
    notes = [a.text for a in fig.layout.annotations]
    assert any("Summer follow-up: withheld (fewer than 5 pupils)" in t for t in notes)
    # Negative changes are drawn as negative, with the CI around them.
    self_regard = [i for i, key in enumerate(f for f, _ in FACTORS) if key == "self_regard"][0]
    assert spring.x[self_regard] < 0
    assert spring.error_x.arrayminus[self_regard] > 0


def test_user_text_is_escaped_for_plotly():
    rep = sample_report(selection_label="<b>Group A & B</b>")
    fig = forest_figure(rep)
    footer = fig.layout.annotations[-1].text
    assert "&lt;b&gt;Group A &amp; B&lt;/b&gt;" in footer
    assert "<b>Group A" not in footer


def test_subgroup_chart_shows_both_groups_and_refuses_without_them(report):
    fig = subgroup_figure(report)
    names = [t.name for t in fig.data]
    assert any(n.startswith("=Mentored") for n in names)
    assert any(n.startswith("Not mentored") for n in names)
    with pytest.raises(ValueError, match="no sub-groups"):
        subgroup_figure(sample_report(subgroups=False))


def test_band_summary_reads_the_mover_counts_the_report_suppressed():
    bands = ["Concern", "Low", "Moderate", "Positive"]
    counts = [[6, 7, 0, 0], [0, 10, 6, 0], [0, 5, 12, 8], [0, 0, 6, 20]]
    full = BandMovement("self_regard", bands, counts, [13, 16, 25, 26], [6, 22, 24, 28], 80, 11, 48, 21)
    assert band_summary(full) == {"down": 11, "same": 48, "up": 21}
    assert band_summary(replace(full, moved_down=None, moved_up=None)) == {"down": None, "same": 48, "up": None}
    assert band_summary(replace(full, total=None)) is None


# ---- tables, CSV and XLSX ----

def _csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_csv_of_one_table_keeps_numbers_and_neutralises_formulas(report):
    rows = _csv_rows(tables_csv(report, "factor_change"))
    header = rows[0]
    assert header[:4] == ["Cohort", "Comparison", "Factor", "Pupils in first round"]
    change = header.index("Mean change")
    body = rows[1:]
    assert len(body) == 3 * 2 * 9  # three cohorts, two comparisons, nine factors
    mentored = [r for r in body if "Mentored" in r[0] and not r[0].startswith("Not")]
    assert mentored and all(r[0] == "'=Mentored" for r in mentored)
    self_regard = next(r for r in body if r[0] == "All pupils in the selection" and r[2] == "Self-regard as a learner")
    assert self_regard[change] == "-1.2"  # a real negative number, not neutralised
    withheld = next(r for r in body if r[1].endswith("Summer follow-up") and r[2] == "Attitudes to attendance"
                    and r[0] == "All pupils in the selection")
    assert withheld[change] == "" and withheld[header.index("Pupils in both rounds")] == ""
    with pytest.raises(KeyError, match="factor_change"):
        tables_csv(report, "no_such_table")


def test_csv_of_all_tables_has_a_titled_section_for_each(report):
    rows = _csv_rows(tables_csv(report))
    assert rows[0] == ["Cohort change report"]
    assert ["Selection", "Years 7, 8 \u00b7 Free school meals \u00b7 Group A"] in rows
    firsts = [r[0] for r in rows if r]
    for table in build_tables(report):
        assert table.title in firsts
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_xlsx_has_about_sheet_frozen_headers_numbers_and_blank_withheld_cells(report):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(tables_xlsx(report)))
    assert book.sheetnames == ["About", "Change", "Attrition", "Reliable change", "Bands 1", "Bands 2",
                               "Change distribution", "Means", "Reliability"]
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["Selection"] == "Years 7, 8 \u00b7 Free school meals \u00b7 Group A"
    assert "pass9-secondary version 1.0" in about["Questionnaire"]
    assert "fewer than 5 pupils" in about["Small numbers"]
    assert "Holm correction across the nine factors" in about
    for name in book.sheetnames[1:]:
        assert book[name].freeze_panes == "A2"
    sheet = book["Change"]
    header = [c.value for c in sheet[1]]
    change = header.index("Mean change") + 1
    values = [sheet.cell(row=r, column=change).value for r in range(2, sheet.max_row + 1)]
    numbers = [v for v in values if v is not None]
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)
    assert min(numbers) < 0  # negative changes stay numbers
    assert values.count(None) == 2  # attendance withheld for the whole selection and "Not mentored"
    labels = {sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)}
    assert labels == {"All pupils in the selection", "'=Mentored", "Not mentored"}
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, sheet.max_row + 1))
    assert sheet.cell(row=2, column=change).number_format == "0.00"
    bands = book["Bands 1"]
    counts = [c.value for row in bands.iter_rows(min_row=2, min_col=4, max_col=7) for c in row]
    assert None in counts and all(v is None or isinstance(v, int) for v in counts)


# ---- interactive HTML and the print view (no browser) ----

def test_interactive_html_is_self_contained_and_escaped(report):
    rep = replace(report, selection_label="</script><script>alert(1)</script> Year 9")
    page = interactive_html(forest_figure(rep), rep, "Change on each factor")
    assert not re.search(r"<script[^>]*\bsrc=", page)
    bundle = plotly_js_path().read_text(encoding="utf-8")
    assert bundle[:2000] in page and bundle[-2000:] in page
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    figure = page[page.index("var figure = ") + len("var figure = "):page.index(";\nPlotly.newPlot")]
    assert "</" not in figure
    assert json.loads(figure)["layout"]["title"]["text"] == "<b>Change on each factor</b>"
    assert "pass9-secondary version 1.0" in page and "fewer than 5 pupils" in page


def test_print_view_has_cover_notes_charts_and_every_table(report):
    charts = [ChartImage(name, title, f"About {name}", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
              for name, (title, _build) in available_charts(report).items()]
    page = report_html(report, css_href="/static/css/report-print.css", back_href="/cohort?x=1",
                       pdf_href="/cohort/export?fmt=report", charts=charts)
    assert page.count('<img src="data:image/svg+xml;base64,') == 5
    for heading in ("How to read this", "Holm correction across the nine factors", "Cronbach&#39;s alpha",
                    "Reliable change for each pupil", "Change on each factor", "Pupils compared and pupils lost",
                    "Movement between bands: Autumn baseline \u2192 Summer follow-up", "Mean score in each round",
                    "How much each pupil changed", "Reliability (Cronbach&#39;s alpha)"):
        assert heading in page, heading
    assert "Clear rise" in page and "=Mentored: Autumn baseline" in page
    assert "Self-regard as a learner (\u22121.2)" not in page  # not a clear change in the sample
    assert "Confidence in learning (\u22126.5)" in page and "Self\u2212regard" not in page
    assert "style=" not in page and "<script" not in page and "<style" not in page
    assert 'href="/static/css/report-print.css"' in page


def test_print_view_inside_a_request_links_the_app_stylesheet(app, report):
    with app.test_request_context("/cohort/report"):
        page = report_html(report, charts=[])
    assert 'href="/static/css/report-print.css' in page
    assert 'href="report-print.css"' in report_html(report, charts=[])  # outside a request: beside the file


def test_print_view_escapes_user_text(report):
    rep = replace(report, selection_label='<img src=x onerror="alert(1)">')
    page = report_html(rep, charts=[])
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


# ---- export_report: choices and names ----

def test_export_refuses_unknown_formats_and_charts(report):
    assert FORMATS == ("png", "svg", "pdf", "html", "csv", "xlsx", "report", "zip")
    with pytest.raises(ExportError, match="Unknown export format"):
        export_report(report, "docx")
    with pytest.raises(ExportError, match="PNG, SVG, PDF or HTML only"):
        export_report(report, "csv", chart="change")
    with pytest.raises(ExportError, match="no chart called 'subgroups'"):
        export_report(sample_report(subgroups=False), "html", chart="subgroups")


def test_data_exports_need_no_browser_and_report_progress(report):
    seen = []
    csv_file = export_report(report, "csv", progress=lambda f, m: seen.append((f, m)))
    assert csv_file.filename == "cohort-change-years-7-8-free-school-meals-group-a-2026-07-01.csv"
    assert csv_file.mimetype.startswith("text/csv")
    assert csv_file.data.startswith("\ufeff".encode())
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0
    xlsx = export_report(report, "xlsx")
    assert xlsx.data[:2] == b"PK" and xlsx.filename.endswith(".xlsx")
    html = export_report(report, "html", chart="means")
    assert html.filename == "cohort-change-years-7-8-free-school-meals-group-a-means-2026-07-01.html"
    assert export_filename(replace(report, selection_label="\u00a3 \u00b7 !"), "png") == \
        "cohort-change-selection-2026-07-01.png"


def test_html_of_all_charts_is_a_zip_of_each(report):
    result = export_report(report, "html")
    names = zipfile.ZipFile(io.BytesIO(result.data)).namelist()
    base = "cohort-change-years-7-8-free-school-meals-group-a-charts-html-2026-07-01"
    assert result.filename == base + ".zip"
    assert sorted(names) == sorted(f"{base}/{n}.html" for n in CHARTS)


# ---- images (need Chromium) ----

@pytest.fixture(scope="module")
def browser():
    images = need_chart_browser()
    yield images
    images.close_browser()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_has_the_size_asked_for(browser, report):
    data = browser.figure_bytes(forest_figure(report), "png", width=800, height=500)
    assert png_size(data) == (800, 500)
    exported = export_report(report, "png", chart="change")
    height = forest_figure(report).layout.height
    assert png_size(exported.data) == (2200, 2 * height)  # 1100 wide at twice the pixels
    assert exported.mimetype == "image/png"


def test_svg_is_xml_with_an_svg_root(browser, report):
    result = export_report(report, "svg", chart="bands")
    root = ElementTree.fromstring(result.data)
    assert root.tag == f"{SVG_NS}svg"
    assert "Movement between bands" in result.data.decode("utf-8")


def test_chart_pdf_is_one_page(browser, report):
    from pypdf import PdfReader

    result = export_report(report, "pdf", chart="distribution")
    assert result.data.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(result.data)).pages) == 1


def test_images_from_several_threads_each_get_their_own(browser, report):
    fig = forest_figure(report)
    results: dict[str, bytes] = {}

    def draw(fmt):
        results[fmt] = browser.figure_bytes(fig, fmt, width=600, height=400)

    threads = [threading.Thread(target=draw, args=(fmt,)) for fmt in ("png", "svg", "pdf")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results["png"].startswith(b"\x89PNG")
    assert results["svg"].lstrip().startswith(b"<svg")
    assert results["pdf"].startswith(b"%PDF")
    assert browser.browser_running()


@pytest.fixture(scope="module")
def bundle(browser, report):
    """The ZIP of everything, made once: its report PDF is the one the "report" format gives."""
    return export_report(report, "zip")


BASE = "cohort-change-years-7-8-free-school-meals-group-a-2026-07-01"


def test_zip_holds_every_chart_format_data_report_and_readme(bundle, report):
    assert bundle.filename == BASE + ".zip"
    archive = zipfile.ZipFile(io.BytesIO(bundle.data))
    names = set(archive.namelist())
    expected = {f"{BASE}/charts/{name}.{ext}" for name in CHARTS for ext in ("png", "svg", "pdf", "html")}
    expected |= {f"{BASE}/{n}" for n in ("README.txt", "data/cohort-change.csv", "data/cohort-change.xlsx",
                                         "report/cohort-change-report.html", "report/report-print.css",
                                         "report/cohort-change-report.pdf")}
    expected |= {f"{BASE}/data/tables/{t.key}.csv" for t in build_tables(report)}
    assert names == expected
    readme = archive.read(f"{BASE}/README.txt").decode("utf-8")
    assert "Years 7, 8 \u00b7 Free school meals \u00b7 Group A" in readme
    assert "fewer than 5 pupils are withheld" in readme
    assert archive.read(f"{BASE}/charts/change.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert archive.read(f"{BASE}/charts/subgroups.svg").lstrip().startswith(b"<svg")
    assert archive.read(f"{BASE}/data/tables/means.csv").decode("utf-8-sig").startswith("Cohort,Round,Factor")


def test_report_pdf_has_cover_notes_charts_and_landscape_tables(bundle, report):
    from pypdf import PdfReader

    archive = zipfile.ZipFile(io.BytesIO(bundle.data))
    pdf = PdfReader(io.BytesIO(archive.read(f"{BASE}/report/cohort-change-report.pdf")))
    pages = pdf.pages
    assert len(pages) >= 3 + len(available_charts(report))
    cover = pages[0].extract_text()
    assert "COHORT CHANGE REPORT" in cover.upper() and "Free school meals" in cover
    assert "At a glance" in pages[1].extract_text()
    assert "How to read this" in pages[2].extract_text()
    landscape = [p for p in pages if float(p.mediabox.width) > float(p.mediabox.height)]
    assert len(landscape) >= len(available_charts(report)) + 1  # every chart, then the tables
    assert "Appendix: the tables" in landscape[len(available_charts(report))].extract_text()
    assert "Page 1 of" in cover


def test_report_format_is_the_printed_pdf(monkeypatch, report):
    from survey_app.cohort.exports import report as printable

    seen = []
    monkeypatch.setattr(printable, "report_pdf", lambda rep, progress: seen.append(rep) or b"%PDF-1.4 printed")
    result = export_report(report, "report")
    assert seen == [report]
    assert result.data == b"%PDF-1.4 printed" and result.mimetype == "application/pdf"
    assert result.filename == "cohort-change-years-7-8-free-school-meals-group-a-report-2026-07-01.pdf"
