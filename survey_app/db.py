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
