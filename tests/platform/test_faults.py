"""Faults a computer room meets, and what pupils and staff then see; nothing is lost.

- PostgreSQL stopped mid-survey (a TCP proxy between the app and PostgreSQL drops every
  connection and refuses new ones, then comes back): pages answer 503 with the friendly
  message, /healthz 503 then 200, the autosave API 503 so the page keeps the answers and
  sends them again; afterwards every answer is stored.
- A round closed while pupils answer: answers given are kept, the next save and the finish
  are refused in plain words.
- Two browsers with one code answering at once: one response, newest answer wins, no
  duplicates.
- A read-only database, and a disk-full error in the middle of a save: 503 with a friendly
  message, nothing half-written, and the save goes through once the database is back.

(A web worker killed mid-save is tests/test_worker_kill.py.) Each test prints one line of
figures and writes it to .reliability/faults.json for the README's reliability table.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from survey_app.db import db
from survey_app.models import AccessCode, Answer, FactorScore, Response
from survey_app.models.base import utcnow
from tests.conftest import PG_URL, REQUIRE_POSTGRES, ROOT, World, _pg_reachable, csrf_from, make_test_app
from tests.fault_proxy import TcpProxy

FIGURES = ROOT / ".reliability" / "faults.json"
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
DATA_RESPONSE = re.compile(r'data-response="(\d+)"')
DATA_SEQ_BASE = re.compile(r'data-seq-base="(\d+)"')
FRIENDLY_503 = "The survey cannot reach its database just now"
CLOSED = "This survey has closed. The answers you gave before it closed are kept."
# The 20 s (the test then takes about 25 s); the browser check's outage is shorter
# because the page's retries back off (1, 2, 4, 8, 15 s) and would add up to 15 s more.
OUTAGE_S = float(os.environ.get("FAULT_OUTAGE_S", "20"))
BROWSER_OUTAGE_S = float(os.environ.get("FAULT_BROWSER_OUTAGE_S", "6"))


# ----- helpers ----------------------------------------------------------------------


def record_figures(name: str, line: str, **figures) -> None:
    """Print the test's figure line and keep it (with the figures) in .reliability/faults.json."""
    print(f"\nFIGURES {name}: {line}")
    FIGURES.parent.mkdir(exist_ok=True)
    try:
        data = json.loads(FIGURES.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = {"summary": line, **figures, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = FIGURES.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(FIGURES)


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text and "sqlalchemy" not in text.lower()


class SurveyPage:
    """A pupil's survey page with its script, as survey.js behaves: each answer waits in
    `pending` until the server acknowledges it; a 5xx or no answer keeps it for the next
    try, a 409 stops sending and shows the server's message."""

    def __init__(self, client, code: str):
        page = client.get("/")
        assert client.post("/", data={"code": code, "csrf_token": csrf_from(page.text)}).status_code == 302
        confirm = client.get("/confirm")
        resp = client.post("/confirm", data={"yes": "Yes, this is me", "csrf_token": csrf_from(confirm.text)})
        assert resp.status_code == 302, resp.text
        page = client.get("/survey", follow_redirects=True)
        assert page.status_code == 200
        self.client = client
        self.csrf = META_CSRF.search(page.text).group(1)
        self.response_id = int(DATA_RESPONSE.search(page.text).group(1))
        self.seq = int(DATA_SEQ_BASE.search(page.text).group(1))
        self.pending: dict[str, dict] = {}
        self.acknowledged: dict[str, int] = {}  # item -> value the server said it saved
        self.statuses: list[int] = []
        self.shown = ""  # what the page would show after the last try

    def choose(self, item: str, value: int) -> None:
        self.seq += 1000
        self.pending[item] = {"item": item, "value": value, "seq": self.seq}

    def flush(self) -> int:
        """Send every pending answer in one request; return the status."""
        batch = list(self.pending.values())
        resp = self.client.post(
            "/survey/api/answers", json={"response": self.response_id, "answers": batch},
            headers={"X-CSRFToken": self.csrf, "Accept": "application/json"},
        )
        self.statuses.append(resp.status_code)
        body = resp.get_json(silent=True) or {}
        if resp.status_code == 200:
            for sent in batch:
                if self.pending.get(sent["item"], {}).get("seq") == sent["seq"]:
                    del self.pending[sent["item"]]
                self.acknowledged[sent["item"]] = sent["value"]
            self.shown = "Saved"
        elif resp.status_code in (401, 403, 409):
            self.shown = body.get("message", "")
        else:
            n = len(self.pending)
            self.shown = (f"Not sent yet: waiting for the connection. {n} answers are kept on this "
                          "computer and will be sent when it comes back.")
        return resp.status_code

    def answer(self, item: str, value: int) -> int:
        self.choose(item, value)
        return self.flush()


def stored(response_id: int) -> dict[str, tuple[int, int]]:
    """{item: (value, seq)} of a response, read afresh from the database."""
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Answer.item, Answer.value, Answer.seq).where(Answer.response_id == response_id))
    return {item: (value, seq) for item, value, seq in rows}


# ----- PostgreSQL stopped mid-survey ---------------------------------------------------------


@pytest.fixture
def proxied_pg():
    """(app, proxy, direct URL): an app whose database connections go through a TcpProxy to
    a throwaway schema of the test PostgreSQL (tables made fresh)."""
    problem = _pg_reachable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL not reachable at {PG_URL} ({problem}) and REQUIRE_POSTGRES=1")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({problem})")
    schema = f"fault_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    parts = urlsplit(PG_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    sep = "&" if "?" in PG_URL else "?"
    options = f"{sep}options=-csearch_path%3D{schema}"
    direct = PG_URL + options
    proxied = PG_URL.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{proxy.port}") + options
    app = make_test_app(proxied)  # the production engine options and idle check
    try:
        with app.app_context():
            db.create_all()
            yield app, proxy, direct
            proxy.restore()
            db.session.remove()
            db.engine.dispose()
    finally:
        proxy.stop()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_connection_idle_while_the_database_restarted_is_replaced_not_failed(proxied_pg, monkeypatch):
    """Connections unused for PING_AFTER_IDLE_SECONDS are checked before use, so a restart
    while the app was quiet costs no request; without the check the first one fails."""
    import sys

    database = sys.modules["survey_app.db"]  # (survey_app.db, the attribute, is the SQLAlchemy object)
    app, proxy, _ = proxied_pg
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # a connection now waits in the pool
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    proxy.cut()
    proxy.restore()  # the server restarted: every open connection is gone
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200

    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)  # as if used just now
    proxy.cut()
    proxy.restore()
    statuses = [client.get("/healthz").status_code for _ in range(3)]
    assert statuses[0] == 503 and statuses[1:] == [200, 200]


def test_postgresql_stopped_mid_survey(proxied_pg):
    app, proxy, direct_url = proxied_pg
    world = World(app, pupils=3)
    items = [s.id for s in world.q.statements]
    js_pupil = SurveyPage(app.test_client(), world.code_of(0))  # a page with its script
    form_client = app.test_client()  # a browser without JavaScript (plain form posts)
    SurveyPage(form_client, world.code_of(1))
    late_client = app.test_client()  # a pupil who arrives during the outage
    late_code = world.code_of(2)
    form_pupil_id = world.pupils[1].id
    from survey_app.models import StaffUser
    from tests.conftest import login_as

    lead = StaffUser(email="lead@example.org", name="Lead", role="lead", password_hash="x",
                     partnership_id=world.partnership.id)
    db.session.add(lead)
    db.session.commit()
    staff = app.test_client()
    login_as(staff, lead)
    assert staff.get("/staff/").status_code == 200

    for i in range(10):
        assert js_pupil.answer(items[i], 1 + i % 4) == 200
    assert app.test_client().get("/healthz").status_code == 200

    form_page = form_client.get("/survey/p/2")
    db.session.close()  # the test's own connection goes back to the pool, to be cut too

    # ----- the database stops ------------------------------------------------------
    proxy.cut()
    down_at = time.monotonic()
    during: list[tuple[str, int, float, str]] = []

    def timed(what, fn):
        t0 = time.monotonic()
        resp = fn()
        during.append((what, resp.status_code, time.monotonic() - t0, resp.text))
        return resp

    health = timed("healthz", lambda: app.test_client().get("/healthz"))
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
    page = timed("survey page", lambda: form_client.get("/survey/p/1"))
    assert page.status_code == 503 and FRIENDLY_503 in page.text and no_traceback(page.text)
    choice = {f"q{i + 1}": "1" for i in range(10, 12)}
    posted = timed("form post", lambda: form_client.post(
        "/survey/p/2", data={**choice, "nav": "next", "csrf_token": csrf_from(form_page.text)}))
    assert posted.status_code == 503 and FRIENDLY_503 in posted.text and no_traceback(posted.text)
    dash = timed("staff page", lambda: staff.get("/staff/"))
    assert dash.status_code == 503 and FRIENDLY_503 in dash.text and no_traceback(dash.text)
    start = late_client.get("/")
    signin = timed("sign-in", lambda: late_client.post("/", data={"code": late_code,
                                                                  "csrf_token": csrf_from(start.text)}))
    assert signin.status_code == 503 and FRIENDLY_503 in signin.text and no_traceback(signin.text)

    # The pupil with the script keeps answering; every save is refused with 503 and JSON the
    # page can read, and the page keeps the answers and tries again every second.
    queued = 0
    for i in range(10, 20):
        js_pupil.choose(items[i], 1 + (i + 1) % 4)
        queued += 1
        t0 = time.monotonic()
        resp_status = js_pupil.flush()
        during.append(("autosave", resp_status, time.monotonic() - t0, ""))
        assert resp_status == 503
        assert "kept on this computer" in js_pupil.shown
    while time.monotonic() - down_at < OUTAGE_S:
        t0 = time.monotonic()
        status = js_pupil.flush()
        during.append(("autosave retry", status, time.monotonic() - t0, ""))
        assert status == 503
        assert app.test_client().get("/healthz").status_code == 503
        time.sleep(1.0)
    assert len(js_pupil.pending) == 10

    # ----- the database comes back -------------------------------------------------
    proxy.restore()
    back_at = time.monotonic()
    while app.test_client().get("/healthz").status_code != 200:
        assert time.monotonic() - back_at < 15, "healthz did not recover"
        time.sleep(0.2)
    recovered_s = time.monotonic() - back_at
    outage_s = back_at - down_at
    assert js_pupil.flush() == 200 and not js_pupil.pending
    for i in range(20, len(items)):
        assert js_pupil.answer(items[i], 1 + i % 4) == 200
    check = js_pupil.client.get("/survey/check")
    assert js_pupil.client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)}).status_code == 302
    again = form_client.post("/survey/p/2", data={**choice, "nav": "next",
                                                   "csrf_token": csrf_from(form_page.text)})
    assert again.status_code == 302
    assert staff.get("/staff/").status_code == 200
    start = late_client.get("/")
    assert late_client.post("/", data={"code": late_code, "csrf_token": csrf_from(start.text)}).status_code == 302

    # ----- nothing lost: checked over a direct connection, not through the proxy -----
    engine = sa.create_engine(direct_url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.select(Answer.item, Answer.value)
                                     .where(Answer.response_id == js_pupil.response_id)).all())
            finished = conn.execute(sa.select(Response.finished_at)
                                    .where(Response.id == js_pupil.response_id)).scalar_one()
            scores = conn.execute(sa.select(sa.func.count()).select_from(FactorScore)
                                  .where(FactorScore.response_id == js_pupil.response_id)).scalar_one()
            form_rows = conn.execute(
                sa.select(Answer.item, Answer.value).join(Response)
                .where(Response.pupil_id == form_pupil_id)).all()
    finally:
        engine.dispose()
    expected = {items[i]: 1 + (i + 1) % 4 if 10 <= i < 20 else 1 + i % 4 for i in range(len(items))}
    lost = sum(1 for item, value in expected.items() if rows.get(item) != value)
    assert rows == expected and lost == 0
    assert js_pupil.acknowledged == expected
    assert finished is not None and scores == len(world.q.factors)
    assert sorted(form_rows) == sorted((items[i], 1) for i in (10, 11))

    statuses = [s for _, s, _, _ in during]
    slowest = max(t for _, _, t, _ in during)
    assert set(statuses) == {503}
    assert all(no_traceback(text) for _, _, _, text in during)
    record_figures(
        "postgresql_stopped_mid_survey",
        f"PostgreSQL down {outage_s:.1f} s: {len(during)} requests during the outage, all 503 "
        f"(slowest {slowest * 1000:.0f} ms), 0 x 500, 0 tracebacks; /healthz 200 again {recovered_s:.1f} s "
        f"after restart; {queued} answers kept by the page and re-sent; {proxy.dropped} connections cut; "
        f"answers lost 0 of {len(expected) + 2}",
        outage_s=round(outage_s, 1), requests_during=len(during), status_503=statuses.count(503),
        status_500=0, tracebacks=0, healthz_recovery_s=round(recovered_s, 2), queued_and_resent=queued,
        answers_expected=len(expected) + 2, answers_lost=lost,
    )


# ----- a round closed while pupils are answering ------------------------------------------------


def test_round_closed_while_answering(app, world, backend):
    from survey_app.rounds.operations import close_now

    items = [s.id for s in world.q.statements]
    pupil = SurveyPage(app.test_client(), world.code_of(0))
    for i in range(5):
        assert pupil.answer(items[i], 1 + i % 4) == 200
    form_client = app.test_client()
    SurveyPage(form_client, world.code_of(1))
    page = form_client.get("/survey/p/1")
    form_client.post("/survey/p/1", data={"q1": "2", "nav": "next", "csrf_token": csrf_from(page.text)})

    close_now(db.session, None, world.round, utcnow() - timedelta(seconds=1))
    db.session.commit()

    # The page's next save: refused with the reason in words, which the script shows.
    refused = pupil.answer(items[5], 3)
    assert refused == 409
    assert pupil.shown == CLOSED and items[5] in pupil.pending
    # Without the script: the form post gets a page saying the same.
    posted = form_client.post("/survey/p/1", data={"q2": "3", "nav": "next", "csrf_token": csrf_from(page.text)})
    assert posted.status_code == 409 and CLOSED in posted.text and no_traceback(posted.text)
    # Finishing is refused plainly too.
    check = pupil.client.get("/survey/check")
    assert check.status_code == 200
    finish = pupil.client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)})
    assert finish.status_code == 409 and CLOSED in finish.text and no_traceback(finish.text)
    assert "No more answers can be saved" in finish.text and "Something went wrong" not in finish.text
    # Signing in again with the code is refused, in the words every refused code gets
    # (which say nothing about whether the code exists or its survey has closed).
    other = app.test_client()
    start = other.get("/")
    again = other.post("/", data={"code": world.code_of(0), "csrf_token": csrf_from(start.text)})
    assert again.status_code == 400 and "That code does not open a survey just now" in again.text

    kept = stored(pupil.response_id)
    assert {item: v for item, (v, _) in kept.items()} == {items[i]: 1 + i % 4 for i in range(5)}
    response = db.session.get(Response, pupil.response_id)
    assert response.finished_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FactorScore)) == 0
    form_kept = db.session.scalar(sa.select(sa.func.count()).select_from(Answer).join(Response)
                                  .where(Response.pupil_id == world.pupils[1].id))
    assert form_kept == 1
    record_figures(
        f"round_closed_while_answering[{backend}]",
        f"{backend}: round closed after 5 answers: 5 kept, next autosave 409 with "
        f"'{CLOSED}', form post 409, finish 409, sign-in refused; 0 answers lost, 0 changed after closing",
        answers_kept=5, answers_lost=0, saves_refused=2, finish_refused=True,
    )


# ----- two browsers with one code -----------------------------------------------------------------


def test_two_browsers_same_code_at_once(app, world, backend):
    import random

    items = [s.id for s in world.q.statements]
    code = world.code_of(0)
    clients = [app.test_client(), app.test_client()]
    pages: list[SurveyPage | None] = [None, None]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def sign_in(k):
        try:
            barrier.wait(timeout=10)
            pages[k] = SurveyPage(clients[k], code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sign_in, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert pages[0].response_id == pages[1].response_id

    # Each browser answers every statement, in its own order, both at once; for each
    # statement one of them gave its answer later (a higher sequence number): that must win.
    rng = random.Random(7)
    base = max(p.seq for p in pages) + 10**6
    plan = {0: [], 1: []}
    newest = {}
    for n, item in enumerate(items):
        later = rng.randrange(2)
        for k in (0, 1):
            value = 1 + (n + 2 * k) % 4
            seq = base + 2 * n + (1 if k == later else 0)
            plan[k].append((item, value, seq))
        newest[item] = plan[later][-1][1]
    statuses = {0: [], 1: []}

    def answer(k):
        try:
            order = plan[k][:]
            random.Random(k).shuffle(order)
            barrier.wait(timeout=10)
            for item, value, seq in order:
                resp = clients[k].post(
                    "/survey/api/answers",
                    json={"response": pages[k].response_id, "answers": [{"item": item, "value": value, "seq": seq}]},
                    headers={"X-CSRFToken": pages[k].csrf})
                statuses[k].append(resp.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t0 = time.monotonic()
    threads = [threading.Thread(target=answer, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - t0
    assert not errors, errors
    assert statuses[0] == [200] * len(items) and statuses[1] == [200] * len(items)

    db.session.rollback()
    responses = db.session.scalar(
        sa.select(sa.func.count()).select_from(Response)
        .where(Response.round_id == world.round.id, Response.pupil_id == world.pupils[0].id))
    assert responses == 1
    duplicates = db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Answer.response_id, Answer.item).group_by(Answer.response_id, Answer.item)
        .having(sa.func.count() > 1).subquery()))
    assert duplicates == 0
    kept = stored(pages[0].response_id)
    wrong = sum(1 for item in items if kept[item][0] != newest[item])
    assert len(kept) == len(items) and wrong == 0

    # One browser finishes; the other is then told plainly, and the answers stay as they are.
    check = clients[0].get("/survey/check")
    assert clients[0].post("/survey/finish", data={"csrf_token": csrf_from(check.text)}).status_code == 302
    late = clients[1].post("/survey/api/answers", json={"response": pages[1].response_id, "answers": [
        {"item": items[0], "value": 4, "seq": base + 10**6}]}, headers={"X-CSRFToken": pages[1].csrf})
    assert late.status_code == 409
    assert late.get_json()["message"] == "You have already finished this survey, so answers cannot change."
    assert stored(pages[0].response_id) == kept
    record_figures(
        f"two_browsers_same_code[{backend}]",
        f"{backend}: 2 browsers, 1 code, {2 * len(items)} saves at once in {elapsed:.1f} s: 1 response, "
        f"{len(kept)} answers, 0 duplicates, {wrong} not the newest; the other browser told plainly after finishing",
        responses=responses, saves=2 * len(items), answers=len(kept), duplicates=duplicates, not_newest=wrong,
    )


# ----- read-only database and disk full --------------------------------------------------------


class ReadOnly:
    """Make every new connection of the app's engine read-only, as a database whose file or
    role can no longer be written: SQLite opens the file with mode=ro; PostgreSQL sessions get
    default_transaction_read_only. Open connections are dropped so none keeps writing."""

    def __init__(self, engine):
        self.engine = engine
        self.sqlite_path = engine.url.database if engine.dialect.name == "sqlite" else None

    def _connect(self, dialect, conn_rec, cargs, cparams):
        import sqlite3

        return sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, check_same_thread=False)

    def _on_connect(self, dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SET default_transaction_read_only = on")
        cursor.close()
        dbapi_connection.commit()

    def __enter__(self):
        if self.sqlite_path:
            event.listen(self.engine, "do_connect", self._connect)
        else:
            event.listen(self.engine, "connect", self._on_connect)
        db.session.close()  # the test's own connection too: dispose() closes checked-in ones only
        self.engine.dispose()
        return self

    def __exit__(self, *exc):
        if self.sqlite_path:
            event.remove(self.engine, "do_connect", self._connect)
        else:
            event.remove(self.engine, "connect", self._on_connect)
        db.session.close()
        self.engine.dispose()


def _db_counts(response_id: int) -> tuple[dict, datetime | None, int]:
    db.session.rollback()
    response = db.session.get(Response, response_id)
    scores = db.session.scalar(sa.select(sa.func.count()).select_from(FactorScore)
                               .where(FactorScore.response_id == response_id))
    return stored(response_id), response.finished_at, scores


def test_read_only_database_mid_survey(app, world, backend):
    items = [s.id for s in world.q.statements]
    pupil = SurveyPage(app.test_client(), world.code_of(0))
    for i in range(len(items) - 1):
        assert pupil.answer(items[i], 1 + i % 4) == 200
    form_client = app.test_client()
    SurveyPage(form_client, world.code_of(1))
    form_page = form_client.get("/survey/p/1")
    before = _db_counts(pupil.response_id)
    other_before = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))

    with ReadOnly(db.engine):
        # A batch: the last statement, and two answers changed. All or nothing.
        pupil.choose(items[-1], 2)
        pupil.choose(items[0], 4)
        pupil.choose(items[1], 4)
        status = pupil.flush()
        resp_json = pupil.client.post("/survey/api/answers", json={"response": pupil.response_id, "answers": [
            {"item": items[-1], "value": 2, "seq": pupil.seq + 1}]}, headers={"X-CSRFToken": pupil.csrf})
        posted = form_client.post("/survey/p/1", data={"q1": "3", "nav": "next",
                                                       "csrf_token": csrf_from(form_page.text)})
        check = pupil.client.get("/survey/check")
        finish = pupil.client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)})
        health = app.test_client().get("/healthz")
        after = _db_counts(pupil.response_id)
    assert status == 503 and len(pupil.pending) == 3 and "kept on this computer" in pupil.shown
    body = resp_json.get_json()
    assert resp_json.status_code == 503 and FRIENDLY_503 in body["message"]
    assert posted.status_code == 503 and FRIENDLY_503 in posted.text and no_traceback(posted.text)
    assert finish.status_code == 503 and FRIENDLY_503 in finish.text and no_traceback(finish.text)
    assert after == before  # nothing half-written: same answers, not finished, no scores
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == other_before
    # Reads still work while writes fail, so /healthz (a read) says the database answers.
    assert health.status_code == 200

    # Writable again: the page's queued batch goes through and the pupil finishes.
    assert pupil.flush() == 200 and not pupil.pending
    check = pupil.client.get("/survey/check")
    assert pupil.client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)}).status_code == 302
    answers, finished, scores = _db_counts(pupil.response_id)
    assert {i: v for i, (v, _) in answers.items()} == {
        **{items[i]: 1 + i % 4 for i in range(len(items) - 1)}, items[-1]: 2, items[0]: 4, items[1]: 4}
    assert finished is not None and scores == len(world.q.factors)
    record_figures(
        f"read_only_database[{backend}]",
        f"{backend}: database read-only mid-survey: autosave 503 (JSON, friendly message), form post 503, "
        f"finish 503, 0 x 500, 0 tracebacks; half-written responses 0 (answers, finish and scores unchanged); "
        f"the page's 3 queued answers saved once writable; answers lost 0",
        status_autosave=503, status_form=posted.status_code, status_finish=finish.status_code,
        half_written=0, answers_lost=0,
    )


class DiskFull:
    """Make the database answer 'disk full' to one kind of write, after the save's earlier
    statements have run in the same transaction (so a half-written save would show)."""

    def __init__(self, engine, statement_start: str):
        self.engine = engine
        self.statement_start = statement_start
        self.hits = 0

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(self.statement_start):
            self.hits += 1
            if self.engine.dialect.name == "sqlite":
                import sqlite3

                raise sqlite3.OperationalError("database or disk is full")
            import psycopg

            raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)


def test_disk_full_in_the_middle_of_a_save(app, world, backend):
    items = [s.id for s in world.q.statements]
    pupil = SurveyPage(app.test_client(), world.code_of(0))
    for i in range(len(items)):
        assert pupil.answer(items[i], 1 + i % 4) == 200
    # The pupil paused: the next save also writes the response's time spent, after the answers.
    response = db.session.get(Response, pupil.response_id)
    response.last_activity_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pupil.client.session_transaction() as held:
        held["pupil"] = {**held["pupil"], "touched": held["pupil"]["touched"] - 60}
    before = _db_counts(pupil.response_id)

    with DiskFull(db.engine, "UPDATE RESPONSES") as full:
        pupil.choose(items[0], 4)
        pupil.choose(items[1], 4)
        status = pupil.flush()
        after_save = _db_counts(pupil.response_id)
    assert full.hits >= 1, "the save did not reach its second write"
    assert status == 503 and len(pupil.pending) == 2
    assert after_save == before  # the answers upsert ran, then was rolled back with the rest

    with DiskFull(db.engine, "INSERT INTO FACTOR_SCORES") as full:
        check = pupil.client.get("/survey/check")
        finish = pupil.client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)})
        after_finish = _db_counts(pupil.response_id)
    assert full.hits >= 1
    assert finish.status_code == 503 and FRIENDLY_503 in finish.text and no_traceback(finish.text)
    assert after_finish == before  # not finished, no scores

    assert pupil.flush() == 200
    check = pupil.client.get("/survey/check")
    assert pupil.client.post("/survey/finish", data={"csrf_token": csrf_from(check.text)}).status_code == 302
    answers, finished, scores = _db_counts(pupil.response_id)
    assert answers[items[0]][0] == 4 and answers[items[1]][0] == 4 and len(answers) == len(items)
    assert finished is not None and scores == len(world.q.factors)
    record_figures(
        f"disk_full_mid_save[{backend}]",
        f"{backend}: disk full at the save's second write and at the finish's scores: 503 with the friendly "
        f"message, 0 x 500; half-written saves 0, half-finished responses 0; saved and finished once space "
        f"was back; answers lost 0",
        status_save=status, status_finish=finish.status_code, half_written=0, answers_lost=0,
    )


def test_access_code_row_untouched_by_failed_sign_in(app, world, backend):
    """A sign-in refused by a read-only database leaves the code unused (no half sign-in)."""
    client = app.test_client()
    start = client.get("/")
    code = world.code_of(2)
    client.post("/", data={"code": code, "csrf_token": csrf_from(start.text)})
    confirm = client.get("/confirm")
    with ReadOnly(db.engine):
        resp = client.post("/confirm", data={"yes": "Yes, this is me", "csrf_token": csrf_from(confirm.text)})
    assert resp.status_code == 503 and FRIENDLY_503 in resp.text
    db.session.rollback()
    access = db.session.scalar(sa.select(AccessCode).where(AccessCode.code == code))
    assert access.first_used_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                             .where(Response.pupil_id == world.pupils[2].id)) == 0
    resp = client.post("/confirm", data={"yes": "Yes, this is me", "csrf_token": csrf_from(confirm.text)})
    assert resp.status_code == 302
    record_figures(
        f"sign_in_read_only[{backend}]",
        f"{backend}: 'this is me' while the database is read-only: 503 with the friendly message; code still "
        f"unused, no response row; the same click works once writable",
        status=503, half_written=0,
    )


# ----- two staff pages computing a round's statistics at once --------------------------------------


def test_round_statistics_computed_by_two_requests_at_once(app, world, backend):
    """Two teachers open a heatmap or profile together: both compute the round's cached
    statistics, the second waiting for the first's rows. Found by benchmarks/load.py, where
    delete-and-insert made the second fail on the unique (round, factor): a 500."""
    from survey_app.models import RoundFactorStats, SurveyRound
    from survey_app.rounds.statistics import compute_round_stats

    round_id = world.round.id
    db.session.rollback()
    first_computed, second_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    waited: list[float] = []

    def first():
        with app.app_context():
            try:
                compute_round_stats(db.session, db.session.get(SurveyRound, round_id), utcnow())
                first_computed.set()
                second_started.wait(10)
                time.sleep(1.0)  # the second request is now writing the same rows
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                first_computed.set()
            finally:
                db.session.remove()

    def second():
        with app.app_context():
            try:
                survey_round = db.session.get(SurveyRound, round_id)
                first_computed.wait(10)
                second_started.set()
                t0 = time.monotonic()
                compute_round_stats(db.session, survey_round, utcnow())
                db.session.commit()
                waited.append(time.monotonic() - t0)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    rows = db.session.scalars(sa.select(RoundFactorStats).where(RoundFactorStats.round_id == round_id)).all()
    assert sorted(r.factor for r in rows) == sorted(f.key for f in world.q.factors)
    record_figures(
        f"round_statistics_two_at_once[{backend}]",
        f"{backend}: 2 requests computing one round's statistics at once: 0 errors (was a 500 on "
        f"PostgreSQL), the second waited {waited[0]:.1f} s for the first; {len(rows)} rows, one per factor",
        errors=0, rows=len(rows),
    )


# ----- the survey page itself (headless Chromium): what the pupil sees ------------------------------

SHOTS = os.environ.get("FAULT_SCREENSHOTS")  # a folder: keep screenshots of the pages seen


@pytest.fixture
def chromium(browser):
    """The session's Chromium (tests/conftest.py): one Playwright per test process."""
    return browser


def _browser_page(chromium, base_url: str):
    from tests.browser.support import DEFAULT_TIMEOUT_MS, VIEWPORTS

    context = chromium.new_context(base_url=base_url, viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context, context.new_page()


def _shot(page, name: str) -> None:
    if SHOTS:
        from pathlib import Path

        from tests.browser.support import save_screenshot

        save_screenshot(page, Path(SHOTS), name, "desktop")


@pytest.mark.browser
def test_survey_page_keeps_and_resends_answers_across_a_postgresql_outage(proxied_pg, chromium):
    from playwright.sync_api import expect

    from tests.browser.pupil import choose, label_for, sign_in, value_for, wait_saved
    from tests.browser.support import LiveServer

    app, proxy, direct_url = proxied_pg
    world = World(app, pupils=1)
    code = world.code_of(0)
    items = [s.id for s in world.q.statements]
    db.session.close()
    server = LiveServer(app).start()
    context, page = _browser_page(chromium, server.url)
    try:
        sign_in(page, code)
        for index in range(3):
            choose(page, index + 1, label_for(world, index))
        wait_saved(page)

        proxy.cut()
        down_at = time.monotonic()
        for index in range(3, 8):
            choose(page, index + 1, label_for(world, index))
        choose(page, 1, label_for(world, 2))  # an answer changed during the outage
        status = page.locator("#save-status")
        expect(status).to_have_attribute("data-state", "offline")
        expect(status).to_contain_text("6 answers are kept on this computer")
        expect(page.locator("#save-alert")).to_contain_text("waiting for the connection")
        _shot(page, "fault-postgresql-down")
        kept = page.evaluate("Object.keys(JSON.parse(localStorage.getItem('survey-pending-' + "
                             "document.getElementById('survey-form').dataset.response) || '{}')).length")
        assert kept == 6  # also in localStorage, should the pupil close the tab
        time.sleep(max(0.0, BROWSER_OUTAGE_S - (time.monotonic() - down_at)))

        proxy.restore()
        back_at = time.monotonic()
        wait_saved(page, timeout=25_000)  # the page retries on its own (1, 2, 4, 8 s...)
        resent_after = time.monotonic() - back_at
        expect(page.locator("#save-alert")).to_contain_text("Connection back: all your answers are saved.")
        _shot(page, "fault-postgresql-back")
    finally:
        context.close()
        server.stop()

    engine = sa.create_engine(direct_url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.select(Answer.item, Answer.value)).all())
    finally:
        engine.dispose()
    want = {items[i]: value_for(world, i) for i in range(8)}
    want[items[0]] = value_for(world, 2)
    assert rows == want
    record_figures(
        "postgresql_stopped_survey_page",
        f"survey page in Chromium, PostgreSQL down {back_at - down_at:.1f} s: 6 answers given during the "
        f"outage kept (page and localStorage), page said so, re-sent by the page {resent_after:.1f} s after "
        f"restart; answers lost 0 of {len(want)}",
        outage_s=round(back_at - down_at, 1), kept_during_outage=6, resent_after_s=round(resent_after, 1),
        answers_lost=0,
    )


@pytest.mark.browser
def test_survey_page_says_plainly_when_the_round_closes(app, world, backend, chromium):
    from playwright.sync_api import expect

    from survey_app.rounds.operations import close_now
    from tests.browser.pupil import choose, label_for, sign_in, stored_answers, wait_saved
    from tests.browser.support import LiveServer

    server = LiveServer(app).start()
    context, page = _browser_page(chromium, server.url)
    try:
        sign_in(page, world.code_of(0))
        for index in range(2):
            choose(page, index + 1, label_for(world, index))
        wait_saved(page)
        close_now(db.session, None, world.round, utcnow() - timedelta(seconds=1))
        db.session.commit()

        choose(page, 3, label_for(world, 2))
        status = page.locator("#save-status")
        expect(status).to_have_attribute("data-state", "error")
        expect(status).to_have_text(CLOSED)
        expect(page.locator("#save-alert")).to_have_text(CLOSED)
        _shot(page, f"fault-round-closed-{backend}")
        page.goto("/survey/check")
        page.get_by_role("button", name="Finish the survey").click()
        expect(page.get_by_role("heading", name="No more answers can be saved")).to_be_visible()
        expect(page.get_by_text(CLOSED)).to_be_visible()
        _shot(page, f"fault-round-closed-finish-{backend}")
    finally:
        context.close()
        server.stop()
    assert stored_answers(world, 0) == {world.q.statements[i].id: world.q.scale[i % 4].value for i in range(2)}
    record_figures(
        f"round_closed_survey_page[{backend}]",
        f"{backend}: survey page in Chromium, round closed after 2 answers: the next click shows '{CLOSED}'; "
        f"finishing shows 'No more answers can be saved' with the same words; 2 answers kept",
        answers_kept=2, answers_lost=0,
    )
