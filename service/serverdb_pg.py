"""The server's own database on PostgreSQL: the state API replicas on several hosts share (keys, jobs, the audit
log, the model registry, usage, the curators' review queue).

The same tables and statements as the SQLite file (:mod:`service.serverdb`): statements are written once, with
``?`` placeholders, and translated here (``?`` to ``%s``). Every write transaction first takes one
transaction-level advisory lock, so writes are serialised across every process and host exactly as SQLite's
``BEGIN IMMEDIATE`` serialises them on one host: the read-modify-write steps of the callers (claiming a job,
revoking a key) keep their meaning. Reads run outside transactions (autocommit). A connection lost (a restart,
a failover) is opened again on the next call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import RowMaker

from core.errors import StoreError, StoreUnavailableError
from service.serverdb import ADDED_COLUMNS, SCHEMA, ServerDB

WRITE_LOCK = 0x686F7067  # the advisory lock every write transaction holds ("hopg")
_TYPES = ((re.compile(r"INTEGER PRIMARY KEY AUTOINCREMENT"), "BIGSERIAL PRIMARY KEY"),
          (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"), (re.compile(r"\bBLOB\b"), "BYTEA"),
          (re.compile(r"\bINTEGER\b"), "BIGINT"))


def pg_types(sql: str) -> str:
    """SQLite column types as PostgreSQL's."""
    for pattern, replacement in _TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


def pg_statement(sql: str) -> str:
    """A statement with ``?`` placeholders as psycopg's (``%s``; a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class Row(tuple[Any, ...]):
    """A result row read by position or by column name, as ``sqlite3.Row``."""

    _names: dict[str, int]

    def __new__(cls, names: dict[str, int], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        """The column names."""
        return list(self._names)


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


def _translate(exc: psycopg.Error, what: str) -> StoreError:
    if isinstance(exc, psycopg.OperationalError):
        return StoreUnavailableError(f"server database unavailable: {what}: {exc}")
    return StoreError(f"server database failed: {what}: {exc}")


class _Writer:
    """What ``write()`` yields: ``execute`` with the SQLite statements, as on a ``sqlite3.Connection``."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Row]:
        return self._conn.execute(pg_statement(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> psycopg.Cursor[Row]:
        cursor = self._conn.cursor()
        cursor.executemany(pg_statement(sql), [tuple(r) for r in rows])
        return cursor


class PostgresServerDB(ServerDB):
    """A thread-safe connection to the server database on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:  # noqa: D107 - not ServerDB's file path
        """Connect and create the tables if missing.

        Raises:
            StoreUnavailableError: the server cannot be reached.
            StoreError: it refused (a wrong password, no such database).
        """
        self.url = url
        self._timeout_s = timeout_s
        self._lock = threading.RLock()
        self._pg: psycopg.Connection[Row] | None = None
        with self.write() as conn:  # one schema creation at a time, whatever the replicas
            for statement in (s.strip() for s in pg_types(SCHEMA).split(";")):
                if statement:
                    conn.execute(statement)
            for table, column, declaration in ADDED_COLUMNS:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {pg_types(declaration)}")

    @property
    def where(self) -> str:
        """The database, for messages (no password)."""
        return re.sub(r"//[^@/]*@", "//", self.url)

    def _connection(self) -> psycopg.Connection[Row]:
        if self._pg is None or self._pg.closed or self._pg.broken:
            try:
                self._pg = psycopg.connect(self.url, autocommit=True, row_factory=_rows,
                                             connect_timeout=max(1, int(self._timeout_s)))
            except psycopg.Error as exc:
                raise _translate(exc, f"connect to {self.where}") from exc
        return self._pg

    def read(self, sql: str, params: Any = ()) -> list[Any]:
        """Run a read query (autocommit).

        Raises:
            StoreError: PostgreSQL failed (StoreUnavailableError when it cannot be reached).
        """
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(pg_statement(sql), tuple(params)).fetchall()
            except psycopg.Error as exc:
                raise _translate(exc, "read") from exc

    def statement(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Run one statement in a transaction of its own, without the write lock (it must be atomic by itself,
        e.g. an upsert), with named parameters (``:name``) and its RETURNING rows.

        Raises:
            StoreError: PostgreSQL failed (StoreUnavailableError when it cannot be reached).
        """
        text = re.sub(r":([a-z_]+)", r"%(\1)s", sql)
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(text, params).fetchall()
            except psycopg.Error as exc:
                raise _translate(exc, "statement") from exc

    @contextmanager
    def write(self) -> Iterator[Any]:
        """One write transaction under the write lock, committed on success, rolled back on error.

        Raises:
            StoreError: PostgreSQL failed (StoreUnavailableError when it cannot be reached).
        """
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                    yield _Writer(conn)
            except psycopg.Error as exc:
                raise _translate(exc, "write") from exc

    def json_text(self, column: str, key: str) -> str:
        """See :meth:`ServerDB.json_text`."""
        return f"(({column})::jsonb ->> '{key}')"

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._pg is not None:
                self._pg.close()
