"""Fixtures: an app per database backend (SQLite and PostgreSQL), clients, and helpers.

Every test that asks for `app` runs twice, once per backend. Without a reachable
PostgreSQL the PostgreSQL half is skipped with a notice; with REQUIRE_POSTGRES=1 (set by
.ci/run) it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from survey_app import create_app
from survey_app.db import db
from survey_app.models.base import utcnow

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def short_tmp_dir(prefix: str) -> Path:
    """A new private directory directly under /tmp: a Unix socket's path must stay under
    108 bytes, which pytest's temporary paths (longer still under xdist) can pass."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@pytest.fixture(scope="session", autouse=True)
def chart_drawers():
    """Chart drawers (exports/drawer.py) of this test run live in its own directory, and
    are stopped at the end (a drawer would otherwise wait out its idle time)."""
    from survey_app.cohort.exports import drawer

    base = short_tmp_dir("drawers-")
    previous = os.environ.get("CHART_DRAWER_DIR")
    os.environ["CHART_DRAWER_DIR"] = str(base)
    yield base
    for directory in base.iterdir():
        drawer.stop(directory)
    shutil.rmtree(base, ignore_errors=True)
    if previous is None:
        os.environ.pop("CHART_DRAWER_DIR", None)
    else:
        os.environ["CHART_DRAWER_DIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def session_files(tmp_path_factory):
    """Sessions of this test run (the file store of development and testing) live in its
    own directory, for the apps of the tests and the servers they start alike."""
    base = tmp_path_factory.mktemp("sessions")
    previous = os.environ.get("SESSION_FILE_DIR")
    os.environ["SESSION_FILE_DIR"] = str(base)
    yield base
    if previous is None:
        os.environ.pop("SESSION_FILE_DIR", None)
    else:
        os.environ["SESSION_FILE_DIR"] = previous


@pytest.fixture(scope="session")
def pg_schema_url():
    """A throwaway PostgreSQL schema for this test run; skipped/failed when unreachable."""
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL not reachable at {PG_URL} ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " and REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(message + ": PostgreSQL tests skipped")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


_prepared: set[str] = set()


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Tests keep an app context pushed for database access; without this, requests would
    share its `g` and database session with the test and with each other.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_test_app(url: str, **extra):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "SERVER_NAME": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SESSION_COOKIE_SECURE": False,
        # Jobs run where they are queued, except in the tests about the queue (tests/jobs/).
        "JOBS_QUEUE": "immediate",
    }
    config.update(extra)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


def _reset_tables(url: str) -> None:
    if url not in _prepared:
        db.drop_all()
        db.create_all()
        _prepared.add(url)
        return
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database_url(backend, request):
    if backend == "postgresql":
        return request.getfixturevalue("pg_schema_url")[1]
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
def app(database_url):
    app = make_test_app(database_url)
    from survey_app.extensions import limiter

    with app.app_context():
        _reset_tables(database_url)
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ----- building a small world ----------------------------------------------------


class World:
    """A school, pupils, a group and an open round of pass9-secondary, with codes."""

    def __init__(self, app, questionnaire="pass9-secondary", pupils=3, mode="page"):
        from survey_app.models import Group, Partnership, Pupil, School, SurveyRound
        from survey_app.models.upn import make_upn
        from survey_app.pupil.codes import issue_codes
        from survey_app.questionnaires.store import definition_of, store_file

        self.version = store_file(db.session, ROOT / "questionnaires" / f"{questionnaire}.toml")
        self.q = definition_of(self.version)
        self.partnership = Partnership(name="Test Partnership")
        self.school = School(urn="100001", name="Test School", partnership=self.partnership)
        db.session.add_all([self.partnership, self.school])
        self.pupils = [
            Pupil(school=self.school, upn=make_upn(201, 4000, 15, i + 1), first_name=f"Pupil{i}",
                  surname="Tester", year_group=7 + i % 5)
            for i in range(pupils)
        ]
        db.session.add_all(self.pupils)
        self.group = Group(name="Group A", school_id=None, pupils=self.pupils)
        db.session.add(self.group)
        db.session.flush()
        now = utcnow()
        self.round = SurveyRound(
            name="Before", phase="before", questionnaire_version_id=self.version.id,
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=7), mode=mode,
            partnership_id=self.partnership.id, groups=[self.group],
        )
        db.session.add(self.round)
        db.session.flush()
        issue_codes(db.session, self.round, [p.id for p in self.pupils])
        db.session.commit()

    def code_of(self, pupil_index: int) -> str:
        from survey_app.models import AccessCode

        return db.session.scalar(
            sa.select(AccessCode.code).where(
                AccessCode.round_id == self.round.id,
                AccessCode.pupil_id == self.pupils[pupil_index].id,
            )
        )


@pytest.fixture
def world(app):
    return World(app)


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'<meta name="csrf-token" content="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def sign_in_pupil(client, code: str):
    """Sign in with a code and confirm; return the response of the first survey page."""
    page = client.get("/")
    resp = client.post("/", data={"code": code, "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302, resp.text
    confirm = client.get("/confirm")
    resp = client.post("/confirm", data={"yes": "Yes, this is me",
                                         "csrf_token": csrf_from(confirm.text)})
    assert resp.status_code == 302
    return client.get("/survey", follow_redirects=True)


# ----- staff -------------------------------------------------------------------------

TEST_PASSWORD = "correct-horse-battery-staple"
_HASH: list[str] = []


def _password_hash() -> str:
    # Hashing is slow on purpose; hash the shared test password once per run.
    if not _HASH:
        from werkzeug.security import generate_password_hash

        _HASH.append(generate_password_hash(TEST_PASSWORD))
    return _HASH[0]


class StaffWorld(World):
    """World plus: a second school in the partnership, a standalone school, two groups
    (A mixing both partnership schools, B in the standalone school), and staff:
    admin, partnership lead, lead of the standalone school, teacher of A, teacher of B."""

    def __init__(self, app):
        super().__init__(app, pupils=4)
        from survey_app.models import Group, Pupil, School, StaffUser, group_staff
        from survey_app.models.upn import make_upn

        self.school2 = School(urn="100002", name="Second School", partnership=self.partnership)
        self.other_school = School(urn="200001", name="Elsewhere Academy")
        db.session.add_all([self.school2, self.other_school])
        db.session.flush()
        self.pupil2 = Pupil(school=self.school2, upn=make_upn(201, 4001, 14, 1), first_name="Sam",
                            surname="Second", year_group=9)
        self.other_pupil = Pupil(school=self.other_school, upn=make_upn(301, 5000, 14, 1),
                                 first_name="Olu", surname="Other", year_group=8)
        db.session.add_all([self.pupil2, self.other_pupil])
        self.group.pupils.append(self.pupil2)
        self.group.partnership_id = self.partnership.id
        self.group_b = Group(name="Group B", school_id=self.other_school.id, pupils=[self.other_pupil])
        db.session.add(self.group_b)
        db.session.flush()

        def user(email, role, school=None, partnership=None):
            u = StaffUser(email=email, name=email.split("@")[0].title(), role=role,
                          password_hash=_password_hash(), school_id=school.id if school else None,
                          partnership_id=partnership.id if partnership else None)
            db.session.add(u)
            return u

        self.admin = user("admin@example.org", "admin")
        self.lead = user("lead@example.org", "lead", partnership=self.partnership)
        self.other_lead = user("otherlead@example.org", "lead", school=self.other_school)
        self.teacher = user("teacher@example.org", "teacher", school=self.school)
        self.teacher_b = user("teacherb@example.org", "teacher", school=self.other_school)
        db.session.flush()
        db.session.execute(group_staff.insert(), [
            {"group_id": self.group.id, "staff_id": self.teacher.id, "is_lead": True},
            {"group_id": self.group_b.id, "staff_id": self.teacher_b.id, "is_lead": True},
        ])
        from survey_app.models import SurveyRound
        from survey_app.pupil.codes import issue_codes

        self.round_b = SurveyRound(
            name="Elsewhere round", phase="before", questionnaire_version_id=self.version.id,
            opens_at=self.round.opens_at, closes_at=self.round.closes_at, mode="page",
            school_id=self.other_school.id, groups=[self.group_b],
        )
        db.session.add(self.round_b)
        db.session.flush()
        issue_codes(db.session, self.round, [self.pupil2.id])
        issue_codes(db.session, self.round_b, [self.other_pupil.id])
        db.session.commit()


@pytest.fixture
def staff_world(app):
    return StaffWorld(app)


def login_as(client, user) -> None:
    """Sign `user` in on `client` without the form (fast; the form is tested on its own)."""
    import time

    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = f"{user.id}:{user.session_version}"
        sess["_fresh"] = True
        sess["_permanent"] = True
        sess["staff_since"] = sess["staff_seen"] = time.time()


def need_chart_browser():
    """The chart image module, when its Chromium is installed: else the test is skipped
    with the reason shown, or fails with REQUIRE_BROWSER=1 (CI)."""
    from survey_app.cohort.exports import images

    if not images.browser_available():
        message = f"{images.browser_path()} not found: install Debian's chromium package to draw chart images"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)
    return images


# ----- one browser for the whole session ---------------------------------------------------
# Playwright's sync API allows one instance per thread, so every test that drives Chromium
# (tests/browser/ and the browser checks of tests/test_faults.py) shares this one.


@pytest.fixture(scope="session")
def browser():
    from tests.browser.support import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package to run browser tests"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()
