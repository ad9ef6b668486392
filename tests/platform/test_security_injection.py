"""SQL injection through every search and filter: the pupil search, the cohort filters,
the audit log search, the group and flag pupil pickers, the codes filters, and text
stored through forms. Each payload must give no 500, show no more rows than a search
that matches nobody, and leave every table as it was.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from survey_app.db import db
from survey_app.models import Group, Pupil
from tests.cohort_data import add_pupils, add_rounds, answer
from tests.conftest import csrf_from, login_as
from tests.security_support import add_flag_and_note, backend_of, record_figures, row_counts

PAYLOADS = [
    "' OR 1=1 --", "' OR '1'='1", '" OR ""="', "') OR ('1'='1", "1; DROP TABLE pupils", "1); DROP TABLE pupils; --",
    "'; DROP TABLE pupils; --", "1 UNION SELECT id, upn, first_name, surname FROM pupils --",
    "' UNION SELECT NULL, NULL, NULL --", "1 OR 1=1", "-1 OR 1=1", "1/**/OR/**/1=1", "%", "_", "%' --", "'%'",
    "\\", "'", "''", "\\' OR 1=1 --", "1' AND pg_sleep(3) --", "1' AND 1=(SELECT COUNT(*) FROM staff_users) --",
    "admin@example.org' --", "\x00' OR 1=1 --", "1e1", "0x1", "group:1 OR 1=1", "flag:1; DROP TABLE pupils",
    "N' OR 'a'='a", "yes' OR '1'='1",
]
NOBODY = "zqxjkv"
# Free-text parameters get every payload; choices and numbers (refused or ignored when not
# one of theirs) every third, to keep the run short.
TEXT_PARAMS = {"q", "who", "pupil", "gender", "reg"}
# Derived data a page may compute and keep while answering (round statistics), and the logs.
NOT_COMPARED = {"audit_events", "change_log", "round_factor_stats"}


def _payloads(name: str) -> list[str]:
    return PAYLOADS if name in TEXT_PARAMS else PAYLOADS[::3]


def _shown(html: str, world) -> set[str]:
    """The known pupils (by UPN or full name) a page shows."""
    pupils = db.session.scalars(db.select(Pupil)).all()
    return {p.upn for p in pupils if p.upn in html} | {
        f"{p.first_name} {p.surname}" for p in pupils if f"{p.first_name} {p.surname}" in html}


class Tally:
    def __init__(self):
        self.requests = 0
        self.problems: list[str] = []

    def get(self, client, url, **kwargs):
        resp = client.get(url, **kwargs)
        self.requests += 1
        if resp.status_code >= 500 or b"Traceback" in resp.get_data():
            self.problems.append(f"GET {url} {kwargs.get('query_string')!r} -> {resp.status_code}")
        return resp


@pytest.fixture
def cohort_world(app, staff_world):
    """Two rounds with twelve pupils answering both (so the cohort report has rows)."""
    world = staff_world
    add_flag_and_note(world)
    rounds = add_rounds(world, names=("After",))
    pupils = add_pupils(world, 12, gender="Female")
    items = [s.id for s in world.q.statements]
    for i, pupil in enumerate(pupils):
        for r, survey_round in enumerate(rounds):
            answer(world, survey_round, pupil, {item: 1 + (i + r + n) % 4 for n, item in enumerate(items)})
    db.session.commit()
    world.rounds = rounds
    # Something in the audit log to search.
    from survey_app.audit import log as audit_log

    audit_log.record_sign_in(db.session, world.lead, "127.0.0.1")
    db.session.commit()
    return world


def test_injection_through_every_search_and_filter(app, cohort_world):
    world = cohort_world
    tally = Tally()
    extra_rows: list[str] = []
    before = row_counts(exclude=NOT_COMPARED)
    client = app.test_client()
    login_as(client, world.admin)

    searches = {
        "pupil search": (f"/staff/schools/{world.school.id}/pupils", ["q", "reg", "status", "year", "page"]),
        "group picker": (f"/staff/groups/{world.group_b.id}/pupils/add", ["q", "school", "year"]),
        "flag picker": (f"/staff/flags/{world.flag.id}/pupils/add", ["q", "school", "year"]),
        "codes filters": (f"/staff/rounds/{world.round.id}/codes", ["group", "pupil", "unused"]),
        "groups list": ("/staff/groups/", ["archived"]),
    }
    if "data.audit" in app.view_functions:
        searches["audit search"] = ("/staff/admin/audit",
                                    ["who", "pupil", "what", "since", "until", "pupil_id", "page"])
    for label, (url, params) in searches.items():
        baseline = {name: _shown(tally.get(client, url, query_string={name: NOBODY}).text, world) for name in params}
        for name in params:
            for payload in _payloads(name):
                resp = tally.get(client, url, query_string={name: payload})
                shown = _shown(resp.text, world)
                if not shown <= baseline[name]:
                    extra_rows.append(f"{label}: {name}={payload!r} showed {sorted(shown - baseline[name])}")

    # The cohort filters: ids, years and codes refuse a payload in words (400); free text
    # (gender) is a value like any other and matches nobody.
    rounds = [("round", str(r.id)) for r in world.rounds]
    cohort_refused = cohort_same = 0
    assert _cohort_pupils(tally, client, rounds) == 12
    assert _cohort_pupils(tally, client, rounds + [("gender", NOBODY)]) == 0
    for name in ("round", "school", "group", "year", "gender", "sen", "fsm", "eal", "flag", "split"):
        for payload in _payloads(name):
            query = [*rounds, (name, payload)] if name != "round" else [rounds[0], (name, payload)]
            if name == "gender":
                got = _cohort_pupils(tally, client, query)
                if got in (0, None):  # nobody has that gender, or it is refused in words (too long)
                    cohort_same += 1
                else:
                    extra_rows.append(f"cohort gender={payload!r}: {got} pupils in the selection")
                continue
            page = tally.get(client, "/staff/cohort/", query_string=query)
            if page.status_code == 400 and ("This selection cannot be shown" in page.text
                                              or "NUL character" in page.text):
                cohort_refused += 1
            else:
                extra_rows.append(f"cohort {name}={payload!r}: {page.status_code}, not refused in words")

    after = row_counts(exclude=NOT_COMPARED)
    backend = backend_of(app)
    record_figures(
        f"sql_injection_filters[{backend}]",
        f"sql injection ({backend}): {len(PAYLOADS)} payloads through {len(searches)} searches and the 10 cohort "
        f"filters, {tally.requests} requests, {len(tally.problems)} with status 500, {len(extra_rows)} showing "
        f"extra rows, {cohort_refused} cohort filters refused in words, {cohort_same} gender payloads matching "
        f"nobody; tables intact: {after == before}",
        payloads=len(PAYLOADS), searches=len(searches) + 1, requests=tally.requests, status_500=len(tally.problems),
        extra_rows=len(extra_rows), tables_intact=after == before,
    )
    assert not tally.problems, "\n".join(tally.problems)
    assert not extra_rows, "\n".join(extra_rows)
    assert after == before, {t: (before[t], after[t]) for t in before if before[t] != after[t]}


def _cohort_pupils(tally: Tally, client, query) -> int | None:
    """The number of pupils the cohort CSV says the selection holds; None when refused (400)."""
    resp = tally.get(client, "/staff/cohort/download/csv", query_string=query)
    if resp.status_code == 400:
        return None
    assert resp.status_code == 200, resp.status_code
    rows = csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")))
    return next(int(r[1]) for r in rows if r and r[0] == "Pupils in the selection")


def test_injection_text_in_forms_is_stored_as_typed(app, staff_world):
    """Names typed into forms are data: stored exactly, no statement run, nothing else changed."""
    world = staff_world
    client = app.test_client()
    login_as(client, world.admin)
    payload = "Robert'); DROP TABLE pupils; --"
    pupils_before = db.session.scalar(db.select(db.func.count()).select_from(Pupil))

    page = client.get("/staff/groups/new")
    owner = re.search(r'<option value="([^"]+)"', page.text.split('name="owner"')[1]).group(1)
    resp = client.post("/staff/groups/new", data={"csrf_token": csrf_from(page.text), "name": payload,
                                                  "kind": "programme", "owner": owner, "lead_id": "0",
                                                  "description": "1 UNION SELECT upn FROM pupils"})
    assert resp.status_code == 302, resp.text
    group = db.session.scalar(db.select(Group).where(Group.name == payload))
    assert group is not None and group.description == "1 UNION SELECT upn FROM pupils"

    pupil = world.pupils[0]
    page = client.get(f"/staff/schools/pupils/{pupil.id}/edit")
    resp = client.post(f"/staff/schools/pupils/{pupil.id}/edit", data={
        "csrf_token": csrf_from(page.text), "first_name": "' OR 1=1 --", "surname": payload,
        "year_group": str(pupil.year_group), "sen": "N", "gender": ""})
    assert resp.status_code == 302, resp.text
    db.session.expire_all()
    assert (pupil.first_name, pupil.surname) == ("' OR 1=1 --", payload)
    assert db.session.scalar(db.select(db.func.count()).select_from(Pupil)) == pupils_before
    # Searching for the stored text finds exactly that pupil.
    resp = client.get(f"/staff/schools/{world.school.id}/pupils", query_string={"q": "DROP TABLE"})
    assert resp.status_code == 200 and pupil.upn in resp.text
    assert sum(p.upn in resp.text for p in world.pupils) == 1


BIG = ["2147483648", "9223372036854775807", "9223372036854775808", str(2**70), "-9223372036854775809"]


def test_numbers_past_a_column_and_nul_characters_are_refused_not_500(app, staff_world):
    """Ids past PostgreSQL's integer or SQLite's 64 bits, in paths, queries and forms, and NUL
    characters anywhere: a 400 or 404 in words, never a 500 (both were 500s before)."""
    world = staff_world
    add_flag_and_note(world)
    client = app.test_client()
    login_as(client, world.admin)
    token = csrf_from(client.get("/staff/password").text)
    rid, gid, sid = world.round.id, world.group.id, world.school.id
    wrong = []
    for big in BIG:
        for url in (f"/staff/pupils/{big}/profile", f"/staff/rounds/{big}/codes", f"/staff/groups/{big}",
                    f"/staff/rounds/{rid}/codes?pupil={big}", f"/staff/rounds/{rid}/slips.pdf?pupil={big}",
                    f"/staff/rounds/{rid}/codes.csv?pupil={big}", f"/staff/admin/audit?pupil_id={big}",
                    f"/staff/schools/{sid}/pupils?page={big}", f"/staff/cohort/?round={big}&round={rid}"):
            status = client.get(url).status_code
            if status not in (200, 400, 404):
                wrong.append(f"GET {url}: {status}")
        for url, data in ((f"/staff/groups/{gid}/pupils/add", {"pupil_ids": big}),
                          (f"/staff/groups/{gid}/pupils/remove", {"pupil_ids": big}),
                          (f"/staff/flags/{world.flag.id}/pupils/add", {"pupil_ids": big}),
                          (f"/staff/rounds/{rid}/research-export", {"rounds": big}),
                          (f"/staff/pupils/{big}/support", {"kind": "note", "text": "x", "starts_on": "2026-11-02"})):
            status = client.post(url, data={**data, "csrf_token": token}).status_code
            if status not in (400, 404):
                wrong.append(f"POST {url} {data}: {status}")
    for url in (f"/staff/schools/{sid}/pupils?q=a%00b", "/staff/schools/import/%00", "/staff/admin/audit?who=%00",
                f"/staff/groups/{gid}/pupils/add?q=%00"):
        resp = client.get(url)
        if resp.status_code != 400 or "NUL character" not in resp.text:
            wrong.append(f"GET {url}: {resp.status_code}")
    resp = client.post("/staff/groups/new", data={"csrf_token": token, "name": "A\x00B", "kind": "programme"})
    if resp.status_code != 400 or "NUL character" not in resp.text:
        wrong.append(f"POST a group name with NUL: {resp.status_code}")
    assert not wrong, "\n".join(wrong)
