"""Helpers the security suite (tests/test_security_*.py) shares: figures, a crawl of the
staff pages that reads every form and link, row counts, and in-scope ids for URLs.

Each security test prints one line of figures and records them in
`.reliability/security.json` (one entry per test and database), so the README's
Reliability table can be filled from a run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import sqlalchemy as sa

from survey_app.db import db
from tests.conftest import ROOT, csrf_from, login_as

FIGURES_PATH = ROOT / ".reliability" / "security.json"
# Tables whose rows a refused request may still add: the audit log records refusals
# (failed sign-ins) and page views on purpose.
AUDIT_TABLES = {"audit_events"}


def record_figures(key: str, line: str, **figures) -> None:
    """Print `line` and merge `figures` under `key` into .reliability/security.json."""
    print(line)
    FIGURES_PATH.parent.mkdir(exist_ok=True)
    with open(FIGURES_PATH.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = {}
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            data = json.loads(FIGURES_PATH.read_text())
        data[key] = {"line": line, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **figures}
        FIGURES_PATH.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def backend_of(app) -> str:
    return db.engine.dialect.name


def row_counts(exclude: set[str] = AUDIT_TABLES) -> dict[str, int]:
    """Return {table: rows} for every table of the app (one query)."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in exclude]
    union = sa.union_all(*[sa.select(sa.literal(t.name).label("t"), sa.func.count().label("n")).select_from(t)
                           for t in tables])
    with db.engine.connect() as conn:
        return {name: n for name, n in conn.execute(union)}


def ensure_staff(client, user, state: dict) -> str:
    """Keep `client` signed in as `user`; return a valid CSRF token for its session.

    A fuzzed request may sign the user out (or clear the session): then sign in again
    and read a fresh token from a page.
    """
    with client.session_transaction() as sess:
        ok = (sess.get("_user_id") == f"{user.id}:{user.session_version}" and "csrf_token" in sess
              and state.get("token"))
        if ok:
            sess["staff_seen"] = time.time()
    if not ok:
        login_as(client, user)
        state["token"] = csrf_from(client.get("/staff/password").text)
    return state["token"]


def off_site(location: str | None, base: str = "http://localhost/staff/sign-in") -> bool:
    """Whether a browser following `location` would leave this site (tabs, newlines and
    backslashes read the way browsers read them)."""
    if not location:
        return False
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme not in ("http", "https") or target.hostname != "localhost"


# ----- reading pages -----------------------------------------------------------------


@dataclass
class FormInfo:
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    files: set[str] = field(default_factory=set)


class _PageParser(HTMLParser):
    """Collects every form (its fields and the values the page offers) and every link."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[FormInfo] = []
        self.links: list[str] = []
        self._form: FormInfo | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            action = a.get("action") or self.page_url
            self._form = FormInfo((a.get("method") or "get").lower(), action)
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "button", "textarea", "select"):
            name = a.get("name")
            if not name:
                return
            if tag == "select":
                self._select = name
                self._form.fields.setdefault(name, [])
            elif a.get("type") == "file":
                self._form.files.add(name)
            else:
                values = self._form.fields.setdefault(name, [])
                if a.get("value") is not None:
                    values.append(a["value"])
        elif tag == "option" and self._form is not None and self._select and a.get("value") is not None:
            self._form.fields[self._select].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse_page(url: str, html: str) -> _PageParser:
    parser = _PageParser(url)
    parser.feed(html)
    return parser


@dataclass
class Crawl:
    """What the staff pages offer: POST forms and GET parameters per endpoint."""

    post_fields: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    file_fields: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    get_params: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    pages: int = 0

    def all_params(self) -> dict[str, set[str]]:
        merged: dict[str, set[str]] = defaultdict(set)
        for params in self.get_params.values():
            for name, values in params.items():
                merged[name] |= values
        return merged

    def all_post_fields(self) -> dict[str, set[str]]:
        merged: dict[str, set[str]] = defaultdict(set)
        for fields in self.post_fields.values():
            for name, values in fields.items():
                merged[name] |= values
        return merged


def _endpoint(adapter, path: str, method: str) -> str | None:
    try:
        endpoint, _ = adapter.match(path, method=method)
    except Exception:  # noqa: BLE001 - not one of ours (a redirect, a 404, a 405)
        return None
    return endpoint


def crawl(app, client, urls: list[str], crawl: Crawl | None = None) -> Crawl:
    """GET every url with `client`; record every form's fields and every link's query."""
    found = crawl or Crawl()
    adapter = app.url_map.bind("localhost")
    for url in urls:
        resp = client.get(url)
        if resp.status_code != 200 or resp.mimetype != "text/html":
            resp.close()
            continue
        found.pages += 1
        page = parse_page(url, resp.text)
        for form in page.forms:
            parts = urlsplit(form.action)
            method = "POST" if form.method == "post" else "GET"
            endpoint = _endpoint(adapter, parts.path, method)
            if endpoint is None:
                continue
            target = found.post_fields[endpoint] if method == "POST" else found.get_params[endpoint]
            for name, values in form.fields.items():
                if name != "csrf_token":
                    target[name].update(values)
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                target[name].add(value)
            if method == "POST":
                found.file_fields[endpoint] |= form.files
        for href in page.links:
            parts = urlsplit(href)
            if parts.netloc or not parts.query:
                continue
            endpoint = _endpoint(adapter, parts.path or urlsplit(url).path, "GET")
            if endpoint is None:
                continue
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                found.get_params[endpoint][name].add(value)
    return found


# ----- URLs with ids the visitor may see ---------------------------------------------


def add_flag_and_note(world) -> None:
    """A partnership flag and a support note, so every staff page has an id in scope."""
    from survey_app.models import PupilFlag, SupportEntry

    world.flag = PupilFlag(name="Mentored", partnership_id=world.partnership.id)
    db.session.add(world.flag)
    world.entry = SupportEntry(pupil_id=world.pupils[0].id, kind="note", text="A note",
                               starts_on=date(2026, 11, 1), author_id=world.teacher.id)
    db.session.add(world.entry)
    from survey_app.models.reviews import ReviewDay  # a review day of the group's school

    world.review_day = ReviewDay(school_id=world.school.id, name="Review day", held_on=date(2026, 12, 1),
                                 starts_at="09:00", slot_minutes=15)
    db.session.add(world.review_day)
    from tests.platform.test_access_matrix import add_intervention

    add_intervention(world)
    db.session.commit()
    from tests.authority.support import add_authority  # so the authority set-up pages have an id

    add_authority(world)


def in_scope_values(world) -> dict:
    """Path values for every URL argument of the staff pages (ids the lead and admin see)."""
    return {
        "group_id": world.group.id, "pupil_id": world.pupils[0].id, "round_id": world.round.id,
        "school_id": world.school.id, "staff_id": world.teacher_b.id, "partnership_id": world.partnership.id,
        "entry_id": world.entry.id, "token": "x" * 20, "log_id": 1, "kind": "p", "number": 1,
        "flag_id": world.flag.id, "fmt": "csv", "filename": "css/staff.css", "file_id": 1,
        "day_id": world.review_day.id, "meeting_id": 1, "target_id": 1, "provider_id": 1,
        "intervention_id": world.intervention_id, "authority_id": world.authority.id,
    }


def fill_rule(rule, values: dict) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<[^<>]*\b{name}>", str(values[name]), path)
    return path


def staff_get_urls(app, world) -> list[str]:
    values = in_scope_values(world)
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith("/staff") and "GET" in rule.methods and "<token>" not in rule.rule:
            urls.append(fill_rule(rule, values))
    return urls


def post_multipart(client, url: str, fields: dict):
    """POST `fields` (files as (BytesIO, filename)) as multipart/form-data, encoded in memory.

    Werkzeug's test client spools a body over 500 KB to a temporary file it never closes
    (a ResourceWarning, an error under filterwarnings=error); encoding here avoids that.
    """
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    values = MultiDict()
    for name, value in fields.items():
        if isinstance(value, tuple):
            stream, filename = value
            value = FileStorage(stream=stream, filename=filename, name=name, content_type="text/csv")
        values.add(name, value)
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f'multipart/form-data; boundary="{boundary}"')
