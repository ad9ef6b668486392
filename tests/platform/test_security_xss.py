"""Stored XSS: names, notes and descriptions typed into forms or imported from a roster are
shown escaped on every page that shows them (to an admin, a lead and a teacher, and on the
pupil's own "is this you?" page), and no user text becomes a javascript: link. Exports
(access codes, paper-answers template, research export, audit log, refused roster rows,
cohort CSV and XLSX) neutralise cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from survey_app.db import db
from survey_app.files.cells import DANGEROUS_STARTS
from survey_app.models import Group, Pupil, PupilFlag, School, StaffUser
from survey_app.models.upn import make_upn
from tests.cohort_data import add_pupils, add_rounds, answer
from tests.conftest import csrf_from, login_as
from tests.security_support import (
    add_flag_and_note,
    backend_of,
    parse_page,
    post_multipart,
    record_figures,
    staff_get_urls,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_LINK = "javascript:alert(1)"
# What must never reach a page unescaped.
RAW = [SCRIPT, "<img src=x onerror=alert(1)>", '"><img']
ESCAPED = ["&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"]
JS_URL = re.compile(r"""(?:href|src|action|formaction|data)\s*=\s*["']?\s*javascript:""", re.I)
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def _form_post(client, page_url: str, data: dict, post_url: str | None = None):
    page = client.get(page_url)
    assert page.status_code == 200, page_url
    return client.post(post_url or page_url, data={"csrf_token": csrf_from(page.text), **data})


def _first_option(client, url: str, name: str) -> str:
    html = client.get(url).text
    return re.search(r'<option[^>]*value="([^"]+)"', html.split(f'name="{name}"', 1)[1]).group(1)


@pytest.fixture
def xss_world(app, staff_world):
    """Payloads stored through the app's own forms and the roster import."""
    world = staff_world
    add_flag_and_note(world)
    client = app.test_client()
    login_as(client, world.admin)
    pupil = world.pupils[0]

    resp = _form_post(client, f"/staff/schools/pupils/{pupil.id}/edit", {
        "first_name": SCRIPT, "surname": IMG, "year_group": str(pupil.year_group), "sen": "N", "gender": "",
        "reg_group": "<b>7X</b>"})
    assert resp.status_code == 302, resp.text
    owner = _first_option(client, "/staff/groups/new", "owner")
    resp = _form_post(client, "/staff/groups/new", {"name": f"Group {SCRIPT}", "kind": "programme",
                                                    "owner": owner, "lead_id": "0", "description": f"{IMG} {JS_LINK}"})
    assert resp.status_code == 302, resp.text
    world.xss_group = db.session.scalar(db.select(Group).where(Group.name == f"Group {SCRIPT}"))
    # The group gets its pupil and teacher, so the teacher's pages show it too.
    from survey_app.models import group_staff

    world.xss_group.pupils.append(pupil)
    db.session.execute(group_staff.insert().values(group_id=world.xss_group.id, staff_id=world.teacher.id,
                                                   is_lead=False))
    db.session.commit()
    resp = _form_post(client, f"/staff/flags/{world.flag.id}/edit", {"name": f"Flag {IMG}",
                                                                      "description": JS_LINK})
    assert resp.status_code == 302, resp.text
    db.session.execute(db.insert(db.metadata.tables["pupil_flag_members"]).values(
        flag_id=world.flag.id, pupil_id=pupil.id))
    db.session.commit()
    place = _first_option(client, "/staff/admin/staff/new", "place")
    resp = _form_post(client, "/staff/admin/staff/new", {"email": "xss@example.org", "name": f"Staff {SCRIPT}",
                                                        "role": "teacher", "place": place, "send_link": "y"})
    assert resp.status_code in (200, 302), resp.text
    assert db.session.scalar(db.select(StaffUser).where(StaffUser.email == "xss@example.org")) is not None
    resp = _form_post(client, f"/staff/pupils/{pupil.id}/profile", {
        "kind": "note", "intervention_type": "", "text": f"Note {SCRIPT} {IMG} {JS_LINK}", "starts_on": "2026-11-02"},
        post_url=f"/staff/pupils/{pupil.id}/support")
    assert resp.status_code == 302, resp.text

    # A roster import with a new pupil whose names are payloads.
    token = csrf_from(client.get("/staff/schools/import").text)
    world.imported_upn = make_upn(201, 4000, 15, 77)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["UPN", "Legal Surname", "Forename", "Year"], [world.imported_upn, IMG, SCRIPT, 8]])
    roster = buffer.getvalue().encode()
    resp = post_multipart(client, "/staff/schools/import", {"school": str(world.school.id), "csrf_token": token,
                                                            "roster": (io.BytesIO(roster), "roster.csv")})
    assert resp.status_code == 302, resp.text
    preview = client.get(resp.location)
    assert preview.status_code == 200
    assert not any(raw in preview.text for raw in RAW)
    digest = re.search(r'name="digest" type="hidden" value="([^"]*)"', preview.text).group(1)
    resp = client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    assert resp.status_code == 302, resp.text
    imported = db.session.scalar(db.select(Pupil).where(Pupil.upn == world.imported_upn))
    assert (imported.first_name, imported.surname) == (SCRIPT, IMG)
    world.group.pupils.append(imported)
    # Names no form would keep (a leading tab is stripped there) come in from elsewhere too.
    db.session.get(School, world.school.id).name = f"School {SCRIPT}"
    world.round.name = f"Round {IMG}"
    db.session.commit()
    return world


def _check_page(url: str, resp, found: dict, problems: list) -> None:
    if resp.mimetype != "text/html":
        data = resp.get_data()
        if any(raw.encode() in data for raw in RAW):
            assert resp.headers.get("X-Content-Type-Options") == "nosniff"
            found["raw_in_non_html"].add(f"{url} ({resp.mimetype})")
        return
    body = resp.get_data(as_text=True)
    for raw in RAW:
        if raw in body:
            at = body.index(raw)
            problems.append(f"{url}: {raw!r} unescaped: …{body[max(0, at - 80):at + 40]!r}")
    if JS_URL.search(body):
        problems.append(f"{url}: a javascript: URL: {JS_URL.search(body).group(0)!r}")
    if any(e in body for e in ESCAPED):
        found["escaped"].add(url)


def test_stored_payloads_are_escaped_on_every_page(app, xss_world):
    world = xss_world
    problems: list[str] = []
    found = {"escaped": set(), "raw_in_non_html": set()}
    pages = 0
    urls = staff_get_urls(app, world)
    urls += [f"/staff/groups/{world.xss_group.id}", f"/staff/groups/{world.xss_group.id}/heatmap",
             f"/staff/groups/{world.xss_group.id}/pupils/add?q=Tester",
             f"/staff/flags/{world.flag.id}/pupils/add?q=Tester", f"/staff/schools/{world.school.id}/pupils?q=alert",
             "/staff/admin/audit?pupil=alert", "/staff/admin/audit?who=Staff"]
    for role in ("admin", "lead", "teacher"):
        client = app.test_client()
        login_as(client, getattr(world, role))
        for url in urls:
            resp = client.get(url)
            if resp.status_code == 200:
                pages += 1
                _check_page(f"{role} {url}", resp, found, problems)
            resp.close()

    # The pupil's own confirmation page shows the name they are asked to recognise.
    from survey_app.models import AccessCode

    code = db.session.scalar(db.select(AccessCode.code).where(AccessCode.pupil_id == world.pupils[0].id,
                                                              AccessCode.round_id == world.round.id))
    pupil = app.test_client()
    page = pupil.get("/")
    pupil.post("/", data={"code": code, "csrf_token": csrf_from(page.text)})
    confirm = pupil.get("/confirm")
    assert confirm.status_code == 200
    _check_page("pupil /confirm", confirm, found, problems)
    assert "/confirm" in " ".join(found["escaped"]), "the pupil's name should be on the confirm page, escaped"

    escaped_on = found["escaped"]
    for must in (f"admin /staff/schools/pupils/{world.pupils[0].id}", f"admin /staff/groups/{world.xss_group.id}",
                 "admin /staff/admin/staff", f"teacher /staff/pupils/{world.pupils[0].id}/profile",
                 f"admin /staff/flags/{world.flag.id}"):
        assert any(url.startswith(must) for url in escaped_on), f"{must} should show a payload (escaped)"
    backend = backend_of(app)
    record_figures(
        f"stored_xss[{backend}]",
        f"stored xss ({backend}): payloads in pupil names (form and roster import), group, flag, staff, school and "
        f"round names, support notes and descriptions; {pages} pages rendered for admin, lead, teacher and pupil, "
        f"{len(escaped_on)} showing a payload escaped, {len(problems)} unescaped or javascript: links",
        pages=pages, pages_with_payload_escaped=len(escaped_on), unescaped=len(problems),
        raw_in_json=sorted(found["raw_in_non_html"]),
    )
    assert not problems, "\n".join(problems)


def test_javascript_links_are_never_made_from_user_text(app, xss_world):
    client = app.test_client()
    login_as(client, xss_world.admin)
    for url in (f"/staff/groups/{xss_world.xss_group.id}", f"/staff/flags/{xss_world.flag.id}",
                f"/staff/pupils/{xss_world.pupils[0].id}/profile"):
        html = client.get(url).text
        assert "javascript:alert(1)" in html  # shown as text
        page = parse_page(url, html)
        assert not [link for link in page.links if link.strip().lower().startswith("javascript:")]


# ----- exports -------------------------------------------------------------------------


def _dangerous(value) -> bool:
    if not isinstance(value, str) or not value.startswith(DANGEROUS_STARTS):
        return False
    try:
        float(value)
        return False  # a negative number is a number
    except ValueError:
        return True


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


@pytest.fixture
def formula_world(app, staff_world):
    """Names that a spreadsheet would run, and two rounds of answers for the cohort exports."""
    world = staff_world
    add_flag_and_note(world)
    rounds = add_rounds(world, names=("After",))
    cohort = add_pupils(world, 12)
    items = [s.id for s in world.q.statements]
    for i, pupil in enumerate(cohort):
        for r, survey_round in enumerate(rounds):
            answer(world, survey_round, pupil, {item: 1 + (i + r + n) % 4 for n, item in enumerate(items)})
    for pupil, (first, last) in zip(cohort, zip(FORMULAS[::2], FORMULAS[1::2], strict=True), strict=False):
        pupil.first_name, pupil.surname = first, last
    world.group.name = FORMULAS[0]
    db.session.get(PupilFlag, world.flag.id).name = FORMULAS[3]
    world.admin.name = FORMULAS[1]
    world.round.name = FORMULAS[2]
    from survey_app.pupil.codes import issue_codes

    issue_codes(db.session, world.round, [p.id for p in cohort])
    db.session.commit()
    world.rounds = rounds
    return world


def test_exports_neutralise_formula_cells(app, formula_world):
    world = formula_world
    client = app.test_client()
    login_as(client, world.admin)
    rounds = [("round", str(r.id)) for r in world.rounds]
    files: dict[str, list] = {}

    def get(label, url, **kwargs):
        resp = client.get(url, **kwargs)
        assert resp.status_code == 200, f"{label}: {resp.status_code}"
        return resp

    files["access codes (CSV)"] = _csv_cells(get("codes", f"/staff/rounds/{world.round.id}/codes.csv").text)
    files["paper-answers template"] = _csv_cells(
        get("template", f"/staff/rounds/{world.round.id}/paper-template.csv").text)
    selection = [*rounds, ("group", str(world.group.id)), ("flag", str(world.flag.id)), ("split", "fsm")]
    db.session.execute(db.insert(db.metadata.tables["pupil_flag_members"]),
                       [{"flag_id": world.flag.id, "pupil_id": p.id} for p in world.group.pupils])
    db.session.commit()
    files["cohort (CSV)"] = _csv_cells(get("cohort csv", "/staff/cohort/download/csv", query_string=selection).text)
    book = load_workbook(io.BytesIO(get("cohort xlsx", "/staff/cohort/download/xlsx",
                                        query_string=selection).data))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell holds a formula"
    files["cohort (XLSX)"] = [c.value for c in cells]
    if "data.audit_csv" in app.view_functions:
        files["audit log (CSV)"] = _csv_cells(get("audit", "/staff/admin/audit.csv").text)
    if "rounds.research_export" in app.view_functions:
        page = client.get(f"/staff/rounds/{world.round.id}/research-export")
        resp = client.post(f"/staff/rounds/{world.round.id}/research-export",
                           data={"csrf_token": csrf_from(page.text), "rounds": [str(r.id) for r in world.rounds]})
        assert resp.status_code == 200, resp.text[:500]
        files["research export (CSV)"] = _csv_cells(resp.get_data(as_text=True))
    token = csrf_from(client.get("/staff/schools/import").text)
    roster = ("UPN,Legal Surname,Forename,Year\r\n" + "\r\n".join(
        f"{bad},Smith,Ann,7" for bad in ['"=1+2"', "@SUM(A1)", "+1", "-1+1"])).encode()
    resp = post_multipart(client, "/staff/schools/import", {"school": str(world.school.id), "csrf_token": token,
                                                            "roster": (io.BytesIO(roster), "r.csv")})
    assert resp.status_code == 302, resp.text
    files["refused roster rows (CSV)"] = _csv_cells(get("refused", resp.location + "/refused.csv").text)

    unsafe = {label: [c for c in cells if _dangerous(c)] for label, cells in files.items()}
    unsafe = {label: cells for label, cells in unsafe.items() if cells}
    neutralised = {label: sum(1 for c in cells if isinstance(c, str) and c[:1] == "'"
                              and c[1:].startswith(DANGEROUS_STARTS)) for label, cells in files.items()}
    backend = backend_of(app)
    record_figures(
        f"export_formulas[{backend}]",
        f"export formulas ({backend}): {len(files)} exports ({', '.join(files)}), "
        f"{sum(len(c) for c in files.values())} cells read, {sum(neutralised.values())} formula cells neutralised, "
        f"{sum(len(c) for c in unsafe.values())} left dangerous",
        exports=sorted(files), cells=sum(len(c) for c in files.values()), neutralised=neutralised,
        dangerous=sum(len(c) for c in unsafe.values()),
    )
    assert not unsafe, unsafe
    # The names did reach the files (so the check above had something to catch).
    assert neutralised["access codes (CSV)"] >= 4
    assert neutralised["cohort (CSV)"] >= 1 and neutralised["cohort (XLSX)"] >= 1
    assert neutralised["refused roster rows (CSV)"] >= 3
