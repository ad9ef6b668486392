"""`flask db upgrade` builds exactly the schema the models describe, and every migration
can be undone, on both databases (whatever the head revision is)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from survey_app.db import db
from tests.conftest import PG_URL, make_test_app


@pytest.fixture
def empty_database_url(backend, request, tmp_path):
    """The URL of a new, empty database: a SQLite file or a throwaway PostgreSQL schema."""
    if backend == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrated.sqlite3")
        return
    request.getfixturevalue("pg_schema_url")  # skips or fails without PostgreSQL
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _head(app) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _state(conn) -> tuple[str | None, set[str]]:
    """Return (revision, table names) of the database behind `conn`."""
    tables = set(sa.inspect(conn).get_table_names())
    version = None
    if "alembic_version" in tables:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return version, tables - {"alembic_version"}


def _leftovers(conn) -> list[str]:
    """Functions, sequences and types (enums, domains) a downgrade left behind in a
    PostgreSQL schema."""
    if conn.dialect.name != "postgresql":
        return []
    return list(conn.execute(sa.text(
        "SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace "
        "UNION ALL SELECT 'sequence ' || sequence_name FROM information_schema.sequences "
        "WHERE sequence_schema = current_schema() "
        "UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typnamespace = current_schema()::regnamespace "
        "AND typrelid = 0 AND typcategory <> 'A'"  # not the row types of remaining tables
    )).scalars())


def test_upgrade_from_empty_matches_models(empty_database_url):
    app = make_test_app(empty_database_url)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
                version, _ = _state(conn)
            assert diff == [], diff
            assert version == _head(app)
            upgrade()  # safe to run again on every deploy
        finally:
            db.engine.dispose()


def test_upgrade_downgrade_upgrade_again(empty_database_url):
    """Head, down to base (no tables of ours left), and up to head again, schema intact."""
    app = make_test_app(empty_database_url)
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn:
                version, tables = _state(conn)
            assert version == _head(app)
            assert tables == {t.name for t in db.metadata.sorted_tables}

            downgrade(revision="base")
            db.engine.dispose()  # SQLite batch operations recreate tables under the pool
            with db.engine.connect() as conn:
                version, tables = _state(conn)
            assert version is None
            assert tables == set()
            with db.engine.connect() as conn:
                assert _leftovers(conn) == []

            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
                version, _ = _state(conn)
            assert diff == [], diff
            assert version == _head(app)
        finally:
            db.engine.dispose()


def test_each_step_down_and_up(empty_database_url):
    """Every single revision steps down and back up again (one at a time, from head)."""
    app = make_test_app(empty_database_url)
    with app.app_context():
        try:
            config = app.extensions["migrate"].migrate.get_config()
            revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]
            upgrade()
            for revision in revisions:  # newest first
                downgrade(revision="-1")
                upgrade(revision=revision)
                downgrade(revision="-1")
            with db.engine.connect() as conn:
                version, tables = _state(conn)
            assert version is None and tables == set()
            upgrade()
            with db.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        finally:
            db.engine.dispose()


def test_0007_lays_out_stored_scores_and_packs_codes_stored_without(empty_database_url):
    """Migration 0007 fills response_scores from the stored factor scores, and gives a
    complete factor score stored before answers were packed (migration 0006) its code."""
    from survey_app.models import FactorScore, ResponseScores
    from tests.cohort_data import add_pupils, answer
    from tests.conftest import World

    app = make_test_app(empty_database_url)
    try:
        with app.app_context():
            upgrade()
            world = World(app)
            statements = world.q.statements
            for i, pupil in enumerate(add_pupils(world, 4)):
                values = {s.id: 1 + (i + j) % 4 for j, s in enumerate(statements)}
                if i == 3:
                    values.pop(statements[0].id)  # one factor left incomplete: no code
                answer(world, world.round, pupil, values)
            db.session.commit()
            table = ResponseScores.__table__
            written = {r.response_id: dict(r._mapping) for r in db.session.execute(sa.select(table))}
            codes = dict(db.session.execute(sa.select(FactorScore.id, FactorScore.item_code)).all())
            assert len(written) == 4 and sum(c is None for c in codes.values()) == 1
            first = world.q.factors[0].key
            assert [row["code_1"] is None for row in written.values()].count(True) == 1
            # As a database from before: codes missing on one factor, no response_scores.
            db.session.execute(sa.update(FactorScore).where(FactorScore.factor == first).values(item_code=None))
            db.session.commit()
            db.session.remove()
            downgrade(revision="0006")
            upgrade()
            again = {r.response_id: dict(r._mapping) for r in db.session.execute(sa.select(table))}

            def scores(rows):  # offsets come from record keys, new after going back past 0008
                return {rid: {k: v for k, v in row.items() if not k.startswith("offset_")}
                        for rid, row in rows.items()}

            assert scores(again) == scores(written)
            assert dict(db.session.execute(sa.select(FactorScore.id, FactorScore.item_code)).all()) == codes
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
