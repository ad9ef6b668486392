"""Fixtures: an app per database backend (SQLite and PostgreSQL), clients, and helpers.

Every test that asks for `app` runs twice, once per backend. Without a reachable
PostgreSQL the PostgreSQL half is skipped with a notice; with REQUIRE_POSTGRES=1 (set by
.ci/run) it fails instead.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from survey_app import create_app
from survey_app.db import db, utcnow

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
        from survey_app.services.access_codes import issue_codes
        from survey_app.services.questionnaire_store import definition_of, store_file
        from survey_app.services.upn import make_upn

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
