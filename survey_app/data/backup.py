"""Backup and restore of the whole database, portable between SQLite and PostgreSQL.

A backup is a gzip file of JSON lines:

1. a header: format name and version, the schema (Alembic) revision, the database it
   came from, and every table with its columns (name and kind) and row count;
2. for each table in foreign-key order, a line `{"table": name, "rows": n}` followed by
   one JSON array per row, in primary-key order;
3. an end line, so a cut-off file is never taken for a whole one.

Values are written by column kind so that they come back exactly: datetimes and dates
as ISO 8601 (with their UTC offset), bytes as base64, floats as JSON numbers (the
shortest text that reads back as the same double; "nan"/"inf" as strings), JSON
columns as JSON.

The snapshot is consistent while pupils are answering: on PostgreSQL every table is
read in one REPEATABLE READ, read-only transaction; on SQLite the database is first
copied with SQLite's own backup API (one step, under one read lock) and the copy is read.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import gzip
import json
import math
import os
import sqlite3
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ..models.base import UTCDateTime

FORMAT = "survey-app-backup"
FORMAT_VERSION = 1
BATCH = 2000


class BackupError(RuntimeError):
    """A backup or restore that was refused or failed; nothing was changed."""


@dataclass
class BackupSummary:
    """What a backup wrote, or what a restore loaded."""

    path: Path
    revision: str
    dialect: str
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# ----- column kinds ----------------------------------------------------------------


def column_kind(column: sa.Column) -> str:
    """Return how a column's values are written: int, float, decimal, bool, str, bytes,
    json, datetime, date, time or uuid. Refuses (BackupError) a type it cannot write
    exactly, so a new column type is never silently mangled."""
    col_type = column.type
    if isinstance(col_type, sa.types.TypeDecorator):
        col_type = col_type.impl_instance
    checks = [
        (sa.JSON, "json"), (sa.Boolean, "bool"), (sa.DateTime, "datetime"), (sa.Date, "date"),
        (sa.Time, "time"), (sa.Float, "float"), (sa.Numeric, "decimal"), (sa.Integer, "int"),
        (sa.LargeBinary, "bytes"), (sa.Uuid, "uuid"), (sa.Enum, "str"), (sa.String, "str"),
    ]
    for kind_type, kind in checks:
        if isinstance(col_type, kind_type):
            return kind
    raise BackupError(f"Column {column.table.name}.{column.name} has a type ({col_type!r}) "
                      "that backups do not know how to write exactly.")


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":  # naive times in this database are UTC (see db.UTCDateTime)
        return (value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if kind in ("date", "time"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "float":
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind == "bool":
        return bool(value)
    return value


def _decode(kind: str, value: Any, aware: bool) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        moment = dt.datetime.fromisoformat(value)
        moment = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return moment if aware else moment.replace(tzinfo=None)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "float":
        return float(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        # SQLite would store a string in an INTEGER column as it is.
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _wants_aware(column: sa.Column) -> bool:
    return isinstance(column.type, UTCDateTime) or bool(getattr(column.type, "timezone", False))


def schema_tables(conn: Connection, metadata: sa.MetaData, revision: str,
                  head: str | None) -> list[sa.Table]:
    """Return the tables to read or write, in foreign-key order: the models' own when the
    database is at the app's head revision (or no head is given), else the database's
    tables as they are, reflected (a backup taken before `db upgrade`, or a restore of an
    older backup into a database upgraded only to its revision)."""
    if head is None or revision == head:
        return list(metadata.sorted_tables)
    reflected = sa.MetaData()
    reflected.reflect(conn)
    return [t for t in reflected.sorted_tables if t.name != "alembic_version"]


def describe_tables(tables: list[sa.Table]) -> list[dict[str, Any]]:
    """Return each table's name and its columns' names and kinds, for a backup's header."""
    return [{"name": t.name, "columns": [[c.name, column_kind(c)] for c in t.columns]} for t in tables]


def database_revision(conn: Connection) -> str | None:
    """Return the Alembic revision of the database, or None when it was never migrated."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _check_revision(revision: str | None, doing: str) -> str:
    if revision is None:
        raise BackupError(
            f"Cannot {doing}: this database has no schema revision (no alembic_version table). "
            "Run `flask --app survey_app db upgrade` first."
        )
    return revision


# ----- backup ------------------------------------------------------------------------


@contextlib.contextmanager
def _snapshot(engine: Engine, workdir: Path) -> Iterator[Connection]:
    """Yield a connection that sees one consistent state of the whole database."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn, conn.begin():
            yield conn
        return
    if engine.dialect.name != "sqlite":
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {engine.dialect.name}.")
    copy_path = workdir / "snapshot.sqlite3"
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(copy_path)
        try:
            # pages=-1 copies every page in one step under one read lock: a consistent copy
            # even while pupils' saves go on in the write-ahead log.
            raw.driver_connection.backup(target, pages=-1)
        finally:
            target.close()
    finally:
        raw.close()
    copy = sa.create_engine(f"sqlite:///{copy_path}", poolclass=NullPool)
    try:
        with copy.connect() as conn, conn.begin():
            yield conn
    finally:
        copy.dispose()


def _ordered_select(table: sa.Table) -> sa.Select:
    order = list(table.primary_key.columns) or list(table.columns)
    return sa.select(*table.columns).order_by(*order)


def write_backup(engine: Engine, metadata: sa.MetaData, path: Path, now: dt.datetime,
                 head: str | None = None) -> BackupSummary:
    """Write a consistent backup of every table to `path`; return a summary.

    The tables are the models' (`metadata`) when the database is at `head`, else the
    database's own. The file is written next to `path` and moved into place only when
    complete, readable by its owner only. Refuses (BackupError) a database with no
    schema revision.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".backup-") as tmp:
        workdir = Path(tmp)
        partial = workdir / "backup.jsonl.gz"
        with _snapshot(engine, workdir) as conn:
            revision = _check_revision(database_revision(conn), "back up")
            tables = schema_tables(conn, metadata, revision, head)
            described = describe_tables(tables)
            for entry, table in zip(described, tables, strict=True):
                entry["rows"] = conn.scalar(sa.select(sa.func.count()).select_from(table))
            summary = BackupSummary(path, revision, engine.dialect.name)
            header = {"format": FORMAT, "format_version": FORMAT_VERSION, "revision": revision,
                      "dialect": engine.dialect.name, "created_at": now.isoformat(), "tables": described}
            with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as out:
                out.write(_line(header))
                for entry, table in zip(described, tables, strict=True):
                    written = _write_table(conn, table, entry, out)
                    if written != entry["rows"]:  # cannot happen inside one snapshot
                        raise BackupError(f"Table {table.name} changed during the backup.")
                    summary.tables[table.name] = written
                out.write(_line({"end": True, "tables": len(tables), "rows": summary.rows}))
        os.chmod(partial, 0o600)  # pupils' personal data
        os.replace(partial, path)
    return summary


def _write_table(conn: Connection, table: sa.Table, entry: dict, out) -> int:
    kinds = [kind for _, kind in entry["columns"]]
    out.write(_line({"table": table.name, "rows": entry["rows"]}))
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(_ordered_select(table))
    written = 0
    for row in result:
        out.write(_line([_encode(kind, value) for kind, value in zip(kinds, row, strict=True)]))
        written += 1
    return written


def _line(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n"


# ----- restore -----------------------------------------------------------------------


def read_header(path: Path) -> dict[str, Any]:
    """Return the header of the backup at `path`. Refuses (BackupError) anything else."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return _parse_header(handle.readline())
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise BackupError(f"{path} is not a readable backup file ({exc}).") from exc


def _parse_header(line: str) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("This is not a backup file made by this app.")
    if header.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"This backup has format version {header.get('format_version')}; "
                          f"this version of the app reads version {FORMAT_VERSION}.")
    tables = header.get("tables")
    if not isinstance(tables, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("rows"), int)
        and isinstance(t.get("columns"), list)
        and all(isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c) for c in t["columns"])
        for t in tables
    ):
        raise BackupError("This backup's header is damaged (its table list cannot be read).")
    return header


def _table_has_rows(conn: Connection, table: sa.Table) -> bool:
    return conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None


def restore_backup(engine: Engine, metadata: sa.MetaData, path: Path, replace: bool = False,
                   head: str | None = None) -> BackupSummary:
    """Load the backup at `path` into the database in one transaction; return a summary.

    Refuses (BackupError), changing nothing: a file that is not a whole backup of this app,
    one made at another schema revision than the database's, one whose tables differ from
    the database's, and a database that already holds data unless `replace`, which empties
    every table first. On PostgreSQL the id sequences are moved past the restored ids.
    """
    path = Path(path)
    header = read_header(path)
    with engine.connect() as conn, conn.begin():
        revision = database_revision(conn)
        if revision is None:
            raise BackupError(
                "Cannot restore: this database has no schema yet. Build it at the backup's "
                f"revision first: `flask --app survey_app db upgrade {header.get('revision')}`."
            )
        if header.get("revision") != revision:
            raise BackupError(
                f"This backup was made at schema revision {header.get('revision')}, but this "
                f"database is at {revision}. Restore it into an empty database upgraded to "
                f"that revision (`flask --app survey_app db upgrade {header.get('revision')}`), "
                "then run `flask --app survey_app db upgrade`."
            )
        tables = {t.name: t for t in schema_tables(conn, metadata, revision, head)}
        theirs = {t["name"]: {name: kind for name, kind in t["columns"]} for t in header["tables"]}
        ours = {t["name"]: {name: kind for name, kind in t["columns"]} for t in describe_tables(list(tables.values()))}
        if theirs != ours:
            raise BackupError("This backup's tables and columns do not match this database's, "
                              "although the schema revision is the same.")
        occupied = [name for name, table in tables.items() if _table_has_rows(conn, table)]
        if occupied and not replace:
            raise BackupError(
                f"The database is not empty (for example {', '.join(occupied[:3])} hold rows). "
                "Restore into an empty database, or give --replace to delete everything in it "
                "and load the backup instead."
            )
        if occupied:
            _empty_tables(conn, list(tables.values()))
        summary = BackupSummary(path, revision, engine.dialect.name)
        try:
            _load_rows(conn, tables, header, path, summary)
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise BackupError(f"The database refused a row of the backup: {reason}") from exc
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, list(tables.values()))
    return summary


def _empty_tables(conn: Connection, tables: list[sa.Table]) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
        conn.execute(sa.text(f"TRUNCATE {names}"))
        return
    for table in reversed(tables):
        conn.execute(table.delete())


def _load_rows(conn: Connection, tables: dict[str, sa.Table], header: dict, path: Path,
               summary: BackupSummary) -> None:
    counts = {t["name"]: t["rows"] for t in header["tables"]}
    # Per table, in the file's column order: (name, kind, whether the column takes aware times).
    columns_of = {
        t["name"]: [(name, kind, _wants_aware(tables[t["name"]].c[name])) for name, kind in t["columns"]]
        for t in header["tables"]
    }
    table: sa.Table | None = None
    batch: list[dict[str, Any]] = []
    ended = False

    def flush() -> None:
        if batch:
            conn.execute(table.insert(), batch)
            batch.clear()

    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            _parse_header(handle.readline())
            for number, line in enumerate(handle, start=2):
                if ended:
                    raise BackupError(f"Line {number}: data after the end of the backup.")
                item = json.loads(line)
                if isinstance(item, list):
                    if table is None:
                        raise BackupError(f"Line {number}: a row before any table.")
                    columns = columns_of[table.name]
                    if len(item) != len(columns):
                        raise BackupError(f"Line {number}: a row of {table.name} with the wrong "
                                          "number of values.")
                    batch.append({name: _decode(kind, value, aware)
                                  for (name, kind, aware), value in zip(columns, item, strict=True)})
                    summary.tables[table.name] += 1
                    if len(batch) >= BATCH:
                        flush()
                elif isinstance(item, dict) and item.get("table") in counts:
                    flush()
                    table = tables[item["table"]]
                    summary.tables[table.name] = 0
                elif isinstance(item, dict) and item.get("end") is True:
                    flush()
                    ended = True
                else:
                    raise BackupError(f"Line {number}: not part of a backup.")
    except (OSError, EOFError, UnicodeDecodeError, zlib.error, ValueError, TypeError) as exc:
        raise BackupError(f"The backup file is damaged or cut off ({exc}).") from exc
    if not ended or summary.tables != counts:
        raise BackupError("The backup file is incomplete (its row counts do not match its "
                          "header).")


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    preparer = conn.dialect.identifier_preparer
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer) or pk[0].autoincrement is False:
            continue
        name = preparer.format_table(table)
        sequence = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                               {"table": name, "column": pk[0].name})
        if sequence is None:
            continue
        # is_called false: the next id handed out is max + 1 (or 1 for an empty table).
        highest = sa.select(sa.func.max(pk[0])).scalar_subquery()
        conn.execute(sa.select(sa.func.setval(
            sa.cast(sequence, REGCLASS), sa.func.coalesce(highest, 0) + 1, sa.false()
        )))
