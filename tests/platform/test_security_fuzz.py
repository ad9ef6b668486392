"""Hypothesis fuzzing of every form, upload and URL parameter (0 answers with status 500,
0 tracebacks, and a refused POST changes no row).

The routes come from the app's url_map, so a new page is fuzzed the day it is added.
The fields of each form, and the values its page offers, come from reading every staff
page as the same visitor; random values are mixed with those, so some requests get past
validation into the services. Every POST carries a valid CSRF token (refusals without
one are tested in test_access_matrix.py and test_security_csrf.py).
"""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from survey_app.db import db
from tests.conftest import csrf_from, sign_in_pupil
from tests.security_support import (
    add_flag_and_note,
    backend_of,
    crawl,
    ensure_staff,
    fill_rule,
    in_scope_values,
    off_site,
    post_multipart,
    record_figures,
    row_counts,
    staff_get_urls,
)

EXAMPLES_PER_POST = 5
EXAMPLES_PER_GET = 5
EXAMPLES_PER_UPLOAD = 20


def fuzz(examples: int) -> settings:
    """Hypothesis settings for one route: `examples` requests, no deadline, no example database
    (the inner tests are made per route, so a saved example would be replayed on another route)."""
    return settings(max_examples=examples, deadline=None, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))

NASTY = [
    "", " ", "\x00", "a\x00b", "%00", "../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "..\\..\\win.ini",
    "<script>alert(1)</script>", "' OR 1=1 --", "1; DROP TABLE pupils", "null", "None", "true", "[]", "{}",
    "-1", "0", "2147483648", "-2147483649", "9223372036854775808", "99999999999999999999999999", "1e309",
    "NaN", "inf", "-0", "0x10", "１２", "٣", "\u202e", "\ufeff", "𝕏", "\ud7ff", "\r\n", "\t",
    "9999-12-31", "0001-01-01", "2026-02-30", "31/12/9999", "9999-12-31T23:59", "0001-01-01T00:00",
    "2026-13-45T25:61", "=1+1", "@SUM(A1)", "javascript:alert(1)", "//evil.example", "a" * 300,
]
INTS = st.integers(min_value=-(2**70), max_value=2**70)
# Numbers at the edges of what the database columns (int4), SQLite (int8) and dates hold.
BIG_NUMBERS = st.sampled_from(["2147483647", "2147483648", "-2147483649", "9223372036854775807",
                               "9223372036854775808", "-9223372036854775809", str(2**70), "1e309", "-1e309"])
# Long values: a few fixed ones (generating and URL-decoding long random text costs more
# than the requests themselves).
HUGE = st.sampled_from(["a" * 30_000, "é" * 5_000, "😀" * 2_000, "\x00" * 5_000, "9" * 2_000, "<" * 5_000])
DATES = st.dates().map(lambda d: d.isoformat())
DATETIMES = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))


WILD = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), INTS.map(str), BIG_NUMBERS, DATES, DATETIMES, HUGE)


def value_strategy(offered: set[str]) -> st.SearchStrategy[str]:
    if offered:
        return st.one_of(*[st.sampled_from(sorted(offered))] * 3, WILD)
    return WILD


@st.composite
def form_pairs(draw, fields: dict[str, set[str]], extra_names: list[str]) -> list[tuple[str, str]]:
    """(name, value) pairs for a form: every field as a visitor might fill it in, except a few
    chosen at random that are missing, repeated or wild (so some requests pass validation and
    reach the services, and the rest probe the checks)."""
    names = sorted(fields)
    wild = set(draw(st.lists(st.sampled_from(names), max_size=min(3, len(names)), unique=True))) if names else set()
    pairs = []
    for name in names:
        offered = sorted(fields[name])
        if name in wild:
            values = draw(st.lists(WILD, max_size=3))
        elif offered:
            values = [draw(st.sampled_from(offered))]
        else:
            values = [draw(st.text(max_size=30))]
        pairs += [(name, value) for value in values]
    pairs += draw(st.lists(st.tuples(st.sampled_from(extra_names) | st.text(min_size=1, max_size=12), WILD),
                           max_size=2))
    return pairs


def fields_strategy(fields: dict[str, set[str]], extra_names: list[str]) -> st.SearchStrategy[list]:
    return form_pairs(fields, extra_names)


def mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` about two times in three, else `other`."""
    return st.integers(min_value=0, max_value=2).flatmap(lambda i: other if i == 0 else usual)


def path_strategy(rule, in_scope: dict) -> st.SearchStrategy[str]:
    """URLs of `rule`: mostly ids in scope, else random ids and strings (path traversal too)."""
    parts = {}
    for name in rule.arguments:
        if isinstance(rule._converters[name], IntegerConverter):
            parts[name] = mostly(st.just(in_scope[name]), st.integers(min_value=0, max_value=2**70)
                                 | st.sampled_from([-1, 0, 2**31 - 1, 2**31, 2**63]))
        else:
            parts[name] = mostly(st.just(in_scope.get(name, "x")), st.text(min_size=1, max_size=30)
                                 | st.sampled_from(["..", "../../etc/passwd", "%2e%2e%2f", "..%5c..%5c", "ü",
                                                    "p", "s", "csv", "xlsx", "a" * 500]))
    return st.fixed_dictionaries(parts).map(
        lambda values: fill_rule(rule, {k: quote(str(v), safe="") for k, v in values.items()}))


class Tally:
    """Counts of what the fuzzing sent and got back; problems found, in words."""

    def __init__(self):
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.problems: list[str] = []

    def check(self, method: str, url: str, resp, detail: str = "") -> None:
        self.requests += 1
        self.by_status[resp.status_code] = self.by_status.get(resp.status_code, 0) + 1
        body = resp.get_data()
        if resp.status_code >= 500 or b"Traceback" in body:
            self.problems.append(f"{method} {url} -> {resp.status_code} {detail[:300]}")
        if 300 <= resp.status_code < 400 and off_site(resp.location):
            self.problems.append(f"{method} {url} -> redirect off the site to {resp.location!r} {detail[:300]}")
        resp.close()

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.by_status.items() if status >= 500)


def _users(world):
    return {"admin": world.admin, "lead": world.lead}


@pytest.fixture
def fuzz_world(app, staff_world):
    add_flag_and_note(staff_world)
    return staff_world


DESTRUCTIVE = ("delete", "erase", "deactivate")


def _post_rules(app, prefix: str = "/staff"):
    """POST rules under `prefix`; the ones that delete go last, so the others still find their rows."""
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule.startswith(prefix)),
                  key=lambda r: (any(word in r.endpoint for word in DESTRUCTIVE), r.rule))


# ----- staff forms ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "lead"])
def test_fuzz_every_staff_form(app, fuzz_world, role):
    user = _users(fuzz_world)[role]
    client = app.test_client()
    state: dict = {}
    ensure_staff(client, user, state)
    found = crawl(app, client, staff_get_urls(app, fuzz_world))
    pool = sorted(found.all_post_fields())
    values = in_scope_values(fuzz_world)
    tally = Tally()
    refused_changed: list[str] = []
    rules = [r for r in _post_rules(app) if r.endpoint != "accounts.sign_out"]  # sign-out: test_security_sessions
    assert len(rules) > 35

    for rule in rules:
        fields = dict(found.post_fields.get(rule.endpoint, {}))
        if not fields:  # a form no page showed this visitor: fields from every form
            fields = {name: set() for name in pool[:40]}

        @fuzz(EXAMPLES_PER_POST)
        @example(url=fill_rule(rule, values), pairs=[(n, min(offered, default="x")) for n, offered in fields.items()])
        @given(url=path_strategy(rule, values), pairs=fields_strategy(fields, pool))
        def post_once(url, pairs):
            token = ensure_staff(client, user, state)
            before = row_counts()
            data = MultiDict([*pairs, ("csrf_token", token)])
            resp = client.post(url, data=data)
            status = resp.status_code
            tally.check("POST", url, resp, repr(pairs)[:300])
            if status >= 400 and status != 500:
                after = row_counts()
                changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
                if changed:
                    refused_changed.append(f"POST {url} -> {status} changed {changed}")

        post_once()
        if len(tally.problems) > 20:
            break

    backend = backend_of(app)
    record_figures(
        f"fuzz_staff_forms[{role}-{backend}]",
        f"fuzz staff forms ({role}, {backend}): {len(rules)} POST routes, {tally.requests} requests, "
        f"{tally.errors} with status 500, {len(tally.problems)} with a 500 or traceback, "
        f"{len(refused_changed)} refused requests that changed rows; statuses {dict(sorted(tally.by_status.items()))}",
        routes=len(rules), requests=tally.requests, status_500=tally.errors, problems=len(tally.problems),
        refused_changed_rows=len(refused_changed), statuses=tally.by_status,
    )
    assert not tally.problems, "\n".join(tally.problems)
    assert not refused_changed, "\n".join(refused_changed)


# ----- URL parameters of every GET route --------------------------------------------


def _get_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods), key=lambda r: r.rule)


# Query names the code reads from request.args, found by reading the source (so a
# parameter no page links to is fuzzed too).
def _source_params() -> set[str]:
    from tests.conftest import ROOT

    names = set()
    for path in (ROOT / "survey_app").rglob("*.py"):
        names |= set(re.findall(r"request\.args\.get(?:list)?\(\s*[\"']([^\"']+)[\"']", path.read_text()))
    return names


QUERY_NASTY = NASTY + ["1", "2", "yes", "no", "any", "group:1", "flag:1", "fsm", "sen", "eal", "N", "K", "E",
                       "/staff/../../etc/passwd", "%2e%2e%2f%2e%2e%2f", "1 UNION SELECT 1", "\u0000"]


@pytest.mark.parametrize("role", ["admin", "lead"])
def test_fuzz_every_url_parameter(app, fuzz_world, role):
    user = _users(fuzz_world)[role]
    client = app.test_client()
    state: dict = {}
    ensure_staff(client, user, state)
    found = crawl(app, client, staff_get_urls(app, fuzz_world))
    all_params = found.all_params()
    for name in _source_params() | {"round", "school", "group", "year", "gender", "sen", "fsm", "eal", "flag",
                                    "split", "chart", "next", "page", "q"}:
        all_params.setdefault(name, set())
    names = sorted(all_params)
    values = in_scope_values(fuzz_world)
    tally = Tally()
    rules = _get_rules(app)

    for rule in rules:
        known = found.get_params.get(rule.endpoint, {})
        examples = EXAMPLES_PER_GET if (rule.arguments or known) else 2
        if rule.endpoint in ("vendor.plotly_js", "static"):
            examples = 2  # a large file: its parameters are all ignored

        @fuzz(examples)
        @example(url=fill_rule(rule, values), query=[(n, min(offered, default="1")) for n, offered in known.items()])
        @given(url=path_strategy(rule, values),
               query=st.lists(st.tuples(st.sampled_from(sorted(known) or names) | st.sampled_from(names),
                                        st.one_of(st.sampled_from(sorted(set().union(*known.values())) or ["1"]),
                                                  st.sampled_from(QUERY_NASTY), st.text(max_size=30),
                                                  INTS.map(str), BIG_NUMBERS)),
                              max_size=6))
        def get_once(url, query):
            ensure_staff(client, user, state)
            resp = client.get(url, query_string=MultiDict(query))
            tally.check("GET", url, resp, repr(query)[:300])

        get_once()
        if len(tally.problems) > 20:
            break

    backend = backend_of(app)
    record_figures(
        f"fuzz_url_parameters[{role}-{backend}]",
        f"fuzz URL parameters ({role}, {backend}): {len(rules)} GET routes, {len(names)} parameter names, "
        f"{tally.requests} requests, {tally.errors} with status 500, {len(tally.problems)} with a 500 or "
        f"traceback; statuses {dict(sorted(tally.by_status.items()))}",
        routes=len(rules), parameters=len(names), requests=tally.requests, status_500=tally.errors,
        problems=len(tally.problems), statuses=tally.by_status,
    )
    assert not tally.problems, "\n".join(tally.problems)


# ----- uploads ---------------------------------------------------------------------------

ROSTER_HEADER = "UPN,Legal Surname,Forename,Year,Reg Group,Gender,SEN,FSM,EAL,Flags"
PAPER_NOTE = "UPN"


def _csv_cell() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NASTY + ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1-1",
                                              "@SUM(1)", "\tTAB", "\rCR", '"', '""', "a,b", "a;b", "Y", "7", "R"]),
                     st.text(max_size=20), INTS.map(str))


def _upload_body(header: str, upns: list[str]) -> st.SearchStrategy[bytes]:
    """Random files: good headers with bad rows, bad headers, binary, other encodings, huge rows."""
    columns = header.split(",")
    row = st.lists(_csv_cell(), min_size=len(columns) - 2, max_size=len(columns) + 2)
    good_row = st.tuples(st.sampled_from(upns), st.lists(_csv_cell(), min_size=len(columns) - 1,
                                                          max_size=len(columns) - 1))

    def text_file(head, rows, good, sep):
        lines = [sep.join(head)]
        lines += [sep.join(_quote(c) for c in r) for r in rows]
        lines += [sep.join(_quote(c) for c in [u, *cells]) for u, cells in good]
        return "\r\n".join(lines)

    texts = st.builds(
        text_file,
        st.one_of(st.just(columns), st.permutations(columns), st.lists(_csv_cell(), max_size=8)),
        st.lists(row, max_size=6), st.lists(good_row, max_size=4), st.sampled_from([",", ";", "\t"]),
    )
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "utf-32"])
    encoded = st.tuples(texts, encodings).map(lambda t: t[0].encode(t[1], errors="replace"))
    huge_row = st.builds(lambda n, c: (header + "\r\n" + (c * n)).encode(), st.integers(10_000, 1_100_000),
                         st.sampled_from(["a", ",", "\"", "é"]))
    signatures = st.sampled_from([b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04\x14\x00", b"%PDF-1.7\n",
                                  b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xff\xfe", b"GIF89a", b"\x00\x00"])
    binary = st.one_of(st.binary(max_size=2000), st.tuples(signatures, st.binary(max_size=500)).map(
        lambda t: t[0] + t[1]))
    return st.one_of(encoded, encoded, huge_row, binary, st.just(b""))


def _quote(cell: str) -> str:
    if any(c in cell for c in ',;\t"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _confirm_from(client, preview_url: str, token: str, tally: Tally) -> None:
    """Open the preview of an accepted upload and confirm it with the digest it shows."""
    page = client.get(preview_url)
    html = page.get_data(as_text=True)
    tally.check("GET", preview_url, page)
    match = re.search(r'<form[^>]+action="([^"]*/confirm)"', html)
    digest = re.search(r'name="digest" type="hidden" value="([^"]*)"', html)
    if match and digest:
        resp = client.post(match.group(1), data={"csrf_token": token, "digest": digest.group(1)})
        tally.check("POST", match.group(1), resp)


@pytest.mark.parametrize("role", ["admin", "lead"])
def test_fuzz_every_upload(app, fuzz_world, role):
    user = _users(fuzz_world)[role]
    client = app.test_client()
    state: dict = {}
    world = fuzz_world
    upns = [p.upn for p in world.pupils] + ["A123456789012", "K201400015999"]
    tally = Tally()
    accepted = {"roster": 0, "answers": 0}
    refused_changed: list[str] = []
    q_ids = [s.id for s in world.q.statements]
    uploads = [
        ("roster", "/staff/schools/import", "roster", {"school": str(world.school.id)},
         _upload_body(ROSTER_HEADER, upns)),
        ("answers", f"/staff/rounds/{world.round.id}/paper-answers", "file", {},
         _upload_body(",".join(["UPN", *q_ids[:6]]), upns)),
    ]
    def fuzz_upload(kind, url, field_name, extra, bodies):
        @fuzz(EXAMPLES_PER_UPLOAD)
        @given(body=bodies, filename=st.sampled_from(["roster.csv", "answers.CSV", "x.png", "a.zip", "../../x.csv",
                                                      "", "é.csv", "a" * 300 + ".csv"]),
               confirm=st.booleans())
        def upload_once(body, filename, confirm):
            token = ensure_staff(client, user, state)
            before = row_counts()
            resp = post_multipart(client, url, {**extra, "csrf_token": token, field_name: (io.BytesIO(body), filename)})
            status, location = resp.status_code, resp.location
            tally.check("POST", url, resp, f"{len(body)} bytes {body[:80]!r} as {filename!r}")
            if status == 302 and location and "/staff/sign-in" not in location:
                accepted[kind] += 1
                if confirm:
                    _confirm_from(client, location, token, tally)
                else:
                    tally.check("GET", location, client.get(location))
            elif status >= 400 and row_counts() != before:
                refused_changed.append(f"{kind} upload {body[:60]!r} -> {status} changed rows")

        upload_once()

    for upload in uploads:
        fuzz_upload(*upload)

    backend = backend_of(app)
    total = EXAMPLES_PER_UPLOAD * len(uploads)
    record_figures(
        f"fuzz_uploads[{role}-{backend}]",
        f"fuzz uploads ({role}, {backend}): {total} files (roster and paper answers: random bytes, other "
        f"encodings, huge rows, formula cells, wrong columns), {accepted['roster'] + accepted['answers']} "
        f"accepted for preview, {tally.requests} requests, {tally.errors} with status 500, "
        f"{len(refused_changed)} refused uploads that changed rows",
        files=total, accepted=accepted, requests=tally.requests, status_500=tally.errors,
        problems=len(tally.problems), refused_changed_rows=len(refused_changed),
    )
    assert not tally.problems, "\n".join(tally.problems)
    assert not refused_changed, "\n".join(refused_changed)


# ----- the pupil's side and the public staff forms -----------------------------------


def _start_again(world, pupil) -> None:
    """Forget a finished response (a fuzzed POST may finish the survey), so the code works again."""
    from survey_app.models import Answer, FactorScore, Response

    finished = db.session.scalar(db.select(Response.id).where(
        Response.round_id == world.round.id, Response.pupil_id == pupil.id, Response.finished_at.is_not(None)))
    if finished is not None:
        db.session.execute(db.delete(FactorScore).where(FactorScore.response_id == finished))
        db.session.execute(db.delete(Answer).where(Answer.response_id == finished))
        db.session.execute(db.delete(Response).where(Response.id == finished))
    db.session.commit()


def test_fuzz_pupil_pages_and_public_forms(app, fuzz_world):
    world = fuzz_world
    tally = Tally()
    pupil = app.test_client()
    q_ids = [s.id for s in world.q.statements]
    scale = sorted(world.q.scale_values)
    state = {"csrf": None, "response": None}

    def signed_in() -> str:
        with pupil.session_transaction() as sess:
            data = sess.get("pupil")
            ok = isinstance(data, dict) and data.get("response_id") and "csrf_token" in sess
        if not ok or state["csrf"] is None:
            _start_again(world, world.pupils[1])
            # The fuzzed wrong codes may have used up this address's attempts: start afresh.
            from survey_app.extensions import limiter

            with app.app_context():
                limiter.reset()
            page = sign_in_pupil(pupil, world.code_of(1))
            state["csrf"] = csrf_from(page.text)
            state["response"] = int(re.search(r'data-response="(\d+)"', page.text).group(1))
        return state["csrf"]

    answers_json = mostly(
        st.fixed_dictionaries({
            "response": mostly(st.just("RESPONSE"), INTS | st.text(max_size=5) | st.none() | st.floats()),
            "answers": mostly(
                st.lists(st.fixed_dictionaries({
                    "item": mostly(st.sampled_from(q_ids), st.text(max_size=10) | INTS),
                    "value": mostly(st.sampled_from(scale), INTS | st.text(max_size=3) | st.booleans()
                                    | st.floats() | st.none()),
                    "seq": mostly(st.integers(min_value=0, max_value=2**62),
                                  INTS | st.floats() | st.text(max_size=4) | st.booleans()),
                }), max_size=5),
                st.none() | st.text(max_size=10) | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
        }),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda children: st.lists(children, max_size=4)
                     | st.dictionaries(st.text(max_size=5), children, max_size=4), max_leaves=10),
    )

    @fuzz(40)
    @given(payload=answers_json, raw=mostly(st.none(), st.binary(max_size=200)))
    def autosave(payload, raw):
        token = signed_in()
        if isinstance(payload, dict) and payload.get("response") == "RESPONSE":
            payload = {**payload, "response": state["response"]}
        body = raw if raw is not None else json.dumps(payload, allow_nan=True).encode()
        resp = pupil.post("/survey/api/answers", data=body, content_type="application/json",
                          headers={"X-CSRFToken": token, "Accept": "application/json"})
        tally.check("POST", "/survey/api/answers", resp, repr(body[:200]))

    form_fields = {f"q{i + 1}": {str(v) for v in scale} for i in range(len(q_ids))}
    form_fields |= {"nav": {"back", "next", "check", "later"}, "mode": {"single", "page"}, "at": {"1", "5"},
                    "reason": {"later", "idle"}, "yes": {"Yes"}, "no": {"No"}}
    pupil_posts = [r for r in _post_rules(app, "/") if not r.rule.startswith("/staff")
                   and r.endpoint not in ("pupil.start", "pupil.confirm")]
    pupil_gets = [r for r in _get_rules(app) if not r.rule.startswith("/staff") and r.endpoint != "static"
                  and not r.rule.startswith("/vendor")]
    in_scope = {"kind": "p", "number": 1, "file_id": 1}

    @fuzz(60)
    @given(rule=st.sampled_from(pupil_posts + pupil_gets), data=st.data(),
           pairs=st.dictionaries(st.sampled_from(sorted(form_fields)), st.just(""), max_size=6).flatmap(
               lambda chosen: fields_strategy({k: form_fields[k] for k in chosen}, sorted(form_fields))))
    def pupil_page(rule, pairs, data):
        token = signed_in()
        url = data.draw(path_strategy(rule, in_scope))
        if "POST" in rule.methods and rule.endpoint != "pupil.answer" or data.draw(st.booleans()):
            if rule.endpoint == "pupil.api_answers":
                return
            resp = pupil.post(url, data=MultiDict([*pairs, ("csrf_token", token)]))
            tally.check("POST", url, resp, repr(pairs)[:300])
        else:
            resp = pupil.get(url, query_string=MultiDict(pairs))
            tally.check("GET", url, resp, repr(pairs)[:300])

    anonymous = app.test_client()
    page = anonymous.get("/")
    anon_token = csrf_from(page.text)

    @fuzz(30)
    @given(endpoint=st.sampled_from(["/", "/staff/sign-in", "/staff/reset/" + "x" * 30]),
           pairs=fields_strategy({"code": {"ABCD-EFGH", world.code_of(2)}, "email": {"admin@example.org"},
                                  "password": set(), "next": {"/staff/groups/", "https://evil.example"},
                                  "new": set(), "confirm": set()}, ["code"]))
    def public_form(endpoint, pairs):
        before = row_counts()
        resp = anonymous.post(endpoint, data=MultiDict([*pairs, ("csrf_token", anon_token)]))
        status = resp.status_code
        tally.check("POST", endpoint, resp, repr(pairs)[:300])
        if status >= 400 and status != 500:
            # A refused code or sign-in writes nothing but the audit log (and a failed-attempt count).
            assert row_counts() == before, f"POST {endpoint} {pairs!r} -> {status} changed rows"
        with anonymous.session_transaction() as sess:
            sess.pop("pupil", None)
            sess.pop("_user_id", None)

    autosave()
    pupil_page()
    public_form()
    backend = backend_of(app)
    record_figures(
        f"fuzz_pupil_and_public[{backend}]",
        f"fuzz pupil pages, autosave JSON and public forms ({backend}): {tally.requests} requests, "
        f"{tally.errors} with status 500, {len(tally.problems)} with a 500 or traceback; "
        f"statuses {dict(sorted(tally.by_status.items()))}",
        requests=tally.requests, status_500=tally.errors, problems=len(tally.problems), statuses=tally.by_status,
    )
    assert not tally.problems, "\n".join(tally.problems)
