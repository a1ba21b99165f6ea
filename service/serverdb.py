"""The server's own small database: API keys, ingest jobs, audit log, the model registry, usage, the
curators' review queue.

By default one SQLite file (``DATA_DIR/server.db``, WAL) shared by the CLI, every server
worker process and the ingest worker of one host; each process opens its own connection.
With ``server_db_url`` set, a PostgreSQL database that API replicas on several hosts share
(:mod:`service.serverdb_pg`): the same tables and statements, the same interface (:class:`ServerDB`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import StoreError, StoreUnavailableError

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, collections TEXT NOT NULL,
    salt BLOB NOT NULL, hash TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, collection TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL,
    started_at REAL, finished_at REAL, key_id TEXT, paths TEXT NOT NULL, documents TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0, report TEXT,
    errors TEXT NOT NULL DEFAULT '[]', error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    cancel INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT 'ingest', payload TEXT);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at);
CREATE INDEX IF NOT EXISTS jobs_collection ON jobs(collection, created_at);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, key_id TEXT, key_name TEXT,
    collection TEXT, action TEXT NOT NULL, target TEXT NOT NULL, before TEXT, after TEXT);
CREATE INDEX IF NOT EXISTS audit_collection ON audit(collection, seq);
CREATE TABLE IF NOT EXISTS models (
    kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, licence TEXT NOT NULL, added_at REAL NOT NULL, PRIMARY KEY (kind, name, version));
CREATE TABLE IF NOT EXISTS model_active (
    kind TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, previous_name TEXT,
    previous_version INTEGER, changed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    second INTEGER NOT NULL, collection TEXT NOT NULL, key_id TEXT NOT NULL, endpoint TEXT NOT NULL,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL, slow INTEGER NOT NULL, cpu_s REAL NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, retrieval_s REAL NOT NULL,
    generation_s REAL NOT NULL, PRIMARY KEY (second, collection, key_id, endpoint));
CREATE INDEX IF NOT EXISTS usage_collection ON usage(collection, second);
CREATE TABLE IF NOT EXISTS proposals (
    collection TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, doc_id TEXT NOT NULL, relation TEXT NOT NULL,
    confidence REAL NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL,
    decided_at REAL, decided_by TEXT, PRIMARY KEY (collection, id));
CREATE INDEX IF NOT EXISTS proposals_queue ON proposals(collection, status, kind, confidence);
CREATE INDEX IF NOT EXISTS proposals_document ON proposals(collection, doc_id);
CREATE TABLE IF NOT EXISTS rate_buckets (
    key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL, allowed INTEGER NOT NULL);
"""
ADDED_COLUMNS = (  # columns later versions added: (table, column, declaration)
    ("jobs", "kind", "TEXT NOT NULL DEFAULT 'ingest'"),
    ("jobs", "payload", "TEXT"),
    # keys made before document ACLs read every document, as they did then
    ("keys", "principals", "TEXT NOT NULL DEFAULT '[\"*\"]'"),
    ("jobs", "text_done", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "text_total", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "lease_owner", "TEXT"),  # the replica whose worker runs the job (see service.jobs)
    ("jobs", "lease_until", "REAL"),
)


def _add_columns(conn: sqlite3.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        present = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _translate(exc: sqlite3.Error, what: str) -> StoreError:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return StoreUnavailableError(f"server database busy: {what}")
    return StoreError(f"server database failed: {what}: {exc}")


class ServerDB:
    """A thread-safe connection to ``server.db``; also the interface of every server database
    (:class:`service.serverdb_pg.PostgresServerDB`). Statements use ``?`` placeholders and the SQL both
    SQLite and PostgreSQL read; where they differ, ask the database (:meth:`json_text`)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the database.

        Raises:
            StoreError: it cannot be opened.
        """
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(SCHEMA)
            _add_columns(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open server database {path}: {exc}") from exc
        self._lock = threading.RLock()

    def read(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Run a read query.

        Raises:
            StoreError: SQLite failed (StoreUnavailableError when the file stays locked).
        """
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, "read") from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), committed on success, rolled back on error.

        Raises:
            StoreError: SQLite failed (StoreUnavailableError when the file stays locked).
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, "begin") from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise _translate(exc, "write") from exc
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def json_text(self, column: str, key: str) -> str:
        """SQL for the text of top-level ``key`` of the JSON in ``column`` (NULL when absent)."""
        return f"json_extract({column}, '$.{key}')"

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def server_db_path(data_dir: Path) -> Path:
    """Where the SQLite server database of ``data_dir`` lives."""
    return data_dir / "server.db"
