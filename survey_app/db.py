"""The database of the web platform: Flask-SQLAlchemy on the models' Base, connection
settings for SQLite (pragmas) and pooled connections (idle check), and a connection for
moving large files. `utcnow` is the models' (re-exported here for the areas)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from .models.base import Base, UTCDateTime, utcnow

__all__ = ["Base", "UTCDateTime", "db", "file_connection", "utcnow"]

db = SQLAlchemy(model_class=Base)


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # WAL lets pupils' saves and teachers' reads run side by side; the busy timeout
    # makes a writer wait for the lock rather than fail during a computer-room rush.
    if _is_sqlite(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


# A pooled connection is tested before use only when it has sat unused for a while: one
# used moments ago is alive, and testing it cost a round trip on every autosave. (This
# replaces SQLAlchemy's pool_pre_ping, which tests on every checkout.) A server that
# restarts under steady use fails the next request on each open connection (503, which
# the pupil's page retries); SQLAlchemy then replaces every connection of the pool.
PING_AFTER_IDLE_SECONDS = 5.0


@event.listens_for(Pool, "checkin")
def _note_idle(dbapi_connection, connection_record):
    connection_record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
    idle_since = connection_record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    if _is_sqlite(dbapi_connection):
        return  # a file, not a server: nothing to lose touch with
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        if not getattr(dbapi_connection, "autocommit", True):
            dbapi_connection.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure means: use a new connection
        raise DisconnectionError("pooled connection failed its idle check") from exc


@contextmanager
def file_connection() -> Iterator[Connection]:
    """A connection, in a transaction, for moving a file of megabytes (an export's ZIP).

    The database driver keeps its buffers as large as the largest message it has carried
    for as long as the connection lives, so a pooled connection that once carried a file
    kept that much memory in its worker (the soak saw workers grow in such steps). This
    connection is closed after use instead of going back to the pool.
    """
    conn = db.engine.connect()
    try:
        with conn.begin():
            yield conn
    finally:
        conn.invalidate()
        conn.close()


# ----- the reports database (a streaming replica) -----------------------------------------
# With REPORTS_DATABASE_URL set, pages that only read aggregates (the authority dashboard
# and its exports) read through a second engine bound to the replica; every write stays on
# db.session (the primary). A session on the replica refuses to flush, so a write sent
# there by mistake fails loudly instead of reaching a read-only server.

LAG_WARNING_SECONDS = 60

# Caught up (everything received is replayed): no lag, however long ago the last write was.
REPLICA_LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


def _refuse_writes(session, flush_context, instances):
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("the reports database is a read-only replica: writes go to db.session")


def init_reports(app) -> None:
    """Close the request's reports session at the end of every app context."""

    @app.teardown_appcontext
    def _close_reports_session(_exc):
        from flask import g

        session = g.pop("reports_session", None)
        if session is not None:
            session.close()


def reports_session():
    """Return the session report reads use: on REPORTS_DATABASE_URL when it is set (one per
    request, read-only), else the app's own db.session."""
    from flask import current_app, g
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    url = current_app.config.get("REPORTS_DATABASE_URL")
    if not url:
        return db.session
    if "reports_session" not in g:
        engine = current_app.extensions.get("reports_engine")
        if engine is None:
            options = {"pool_pre_ping": True}
            if url.startswith("postgresql"):
                options["connect_args"] = dict(current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
                                               .get("connect_args", {}))
            engine = current_app.extensions["reports_engine"] = create_engine(url, **options)
        session = Session(engine, autoflush=False, expire_on_commit=False)
        event.listen(session, "before_flush", _refuse_writes)
        g.reports_session = session
    return g.reports_session


def replica_lag_seconds(session) -> float | None:
    """Return how many seconds the replica behind `session` is behind the primary (0 when
    caught up), or None when it is not a PostgreSQL standby (or cannot say)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if session.get_bind().dialect.name != "postgresql":
        return None
    try:
        value = session.execute(text(REPLICA_LAG_SQL)).scalar()
    except SQLAlchemyError:
        session.rollback()
        return None
    return None if value is None else float(value)


def lag_message(seconds: float | None, warn_after: float = LAG_WARNING_SECONDS) -> str | None:
    """Return the notice a report shows when its replica is more than `warn_after` seconds
    behind (else None): how far behind, in minutes, and what that means."""
    if seconds is None or seconds <= warn_after:
        return None
    minutes = int(seconds // 60)
    behind = f"{minutes // 60} hours" if minutes >= 120 else ("1 minute" if minutes == 1 else f"{minutes} minutes")
    return (f"These figures come from a copy of the database that is {behind} behind: "
            f"answers given in the last {behind} may not be counted yet.")
