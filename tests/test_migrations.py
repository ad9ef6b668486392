"""`flask db upgrade` builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from survey_app.db import db
from tests.conftest import PG_URL, make_test_app


def test_upgrade_from_empty_matches_models(backend, request, tmp_path):
    schema = None
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path / "migrated.sqlite3")
    else:
        request.getfixturevalue("pg_schema_url")  # skips or fails without PostgreSQL
        schema = f"m_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    app = make_test_app(url)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
                version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            assert diff == [], diff
            config = app.extensions["migrate"].migrate.get_config()
            assert version == ScriptDirectory.from_config(config).get_current_head()
            upgrade()  # safe to run again on every deploy
            db.engine.dispose()
    finally:
        if schema:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
