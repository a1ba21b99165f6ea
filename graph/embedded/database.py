"""One SQLite database shared by the embedded graph and vector stores.

WAL mode with ``synchronous=FULL``: a committed transaction survives a crash
(SIGKILL or power loss) and an interrupted one is rolled back on the next open.
Both stores write inside :meth:`EmbeddedDatabase.transaction`, which nests, so
that one document's graph and vectors commit together or not at all.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import StoreError

SCHEMA_VERSION = 3  # 2: keyword index without stemming (as Weaviate's BM25); 3: curation, typed aliases
MIGRATIONS = {  # from version -> statements that bring it to the next
    2: ("ALTER TABLE entities ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE aliases ADD COLUMN type TEXT NOT NULL DEFAULT ''"),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT NOT NULL, title TEXT NOT NULL,
    text TEXT NOT NULL, metadata TEXT NOT NULL, acl TEXT NOT NULL, ingested_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS curation (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entities_key ON entities(key);
CREATE TABLE IF NOT EXISTS aliases (
    entity_id TEXT NOT NULL, norm TEXT NOT NULL, surface TEXT NOT NULL, doc_id TEXT NOT NULL,
    count INTEGER NOT NULL, type TEXT NOT NULL DEFAULT '', PRIMARY KEY (entity_id, surface, doc_id));
CREATE INDEX IF NOT EXISTS aliases_norm ON aliases(norm);
CREATE INDEX IF NOT EXISTS aliases_doc ON aliases(doc_id);
CREATE TABLE IF NOT EXISTS mentions (
    chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    surface TEXT NOT NULL, entity_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mentions_entity ON mentions(entity_id);
CREATE INDEX IF NOT EXISTS mentions_doc ON mentions(doc_id);
CREATE INDEX IF NOT EXISTS mentions_chunk ON mentions(chunk_id);
CREATE TABLE IF NOT EXISTS relations (
    id TEXT PRIMARY KEY, head TEXT NOT NULL, type TEXT NOT NULL, tail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS relations_head ON relations(head);
CREATE INDEX IF NOT EXISTS relations_tail ON relations(tail);
CREATE TABLE IF NOT EXISTS evidence (
    relation_id TEXT NOT NULL, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, confidence REAL NOT NULL);
CREATE INDEX IF NOT EXISTS evidence_relation ON evidence(relation_id);
CREATE INDEX IF NOT EXISTS evidence_doc ON evidence(doc_id);
CREATE TABLE IF NOT EXISTS vchunks (
    rid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
    text TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS vchunks_doc ON vchunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS vchunks_fts USING fts5(
    text, content='vchunks', content_rowid='rid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS vchunks_ai AFTER INSERT ON vchunks BEGIN
    INSERT INTO vchunks_fts(rowid, text) VALUES (new.rid, new.text); END;
CREATE TRIGGER IF NOT EXISTS vchunks_ad AFTER DELETE ON vchunks BEGIN
    INSERT INTO vchunks_fts(vchunks_fts, rowid, text) VALUES ('delete', old.rid, old.text); END;
CREATE TABLE IF NOT EXISTS ventities (entity_id TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vector_deletions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, id TEXT NOT NULL);
"""


def deletion_trigger(table: str, id_column: str) -> str:
    """The trigger that logs the id of every row deleted from vector table ``table`` (a replaced one included),
    so that in-memory copies follow deletions (:mod:`graph.embedded.vector_matrix`)."""
    return (f"CREATE TRIGGER IF NOT EXISTS {table}_logdel AFTER DELETE ON {table} BEGIN"
            f" INSERT INTO vector_deletions(tbl, id) VALUES ('{table}', old.{id_column}); END;")


class EmbeddedDatabase:
    """A thread-safe SQLite connection with nested transactions."""

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the database at ``path``.

        Raises:
            StoreError: the file cannot be opened or is not a hopgraph database.
        """
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=OFF")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.executescript(SCHEMA + deletion_trigger("vchunks", "chunk_id") + "\n"
                                     + deletion_trigger("ventities", "entity_id"))
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) != SCHEMA_VERSION:
                self._migrate(path, int(row[0]))
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open embedded store {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._depth = 0

    def _migrate(self, path: Path, version: int) -> None:
        if version > SCHEMA_VERSION or version not in MIGRATIONS:
            raise StoreError(f"{path}: schema version {version}, expected {SCHEMA_VERSION}")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version]:
                    self._conn.execute(statement)
                version += 1
            self._conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
        except sqlite3.Error:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outermost one.

        Raises:
            StoreError: SQLite failed; the outermost transaction is rolled back.
        """
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException as exc:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"embedded store write failed: {exc}") from exc
                raise
            self._depth -= 1
            if outer:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._conn.execute("ROLLBACK")
                    raise StoreError(f"embedded store commit failed: {exc}") from exc

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows.

        Raises:
            StoreError: SQLite failed.
        """
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store query failed: {exc}") from exc

    def read_many(self, statements: list[str]) -> list[list[sqlite3.Row]]:
        """Run several read queries in one read transaction: one point in time for all of them.

        Raises:
            StoreError: SQLite failed.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN DEFERRED")
                try:
                    return [self._conn.execute(statement).fetchall() for statement in statements]
                finally:
                    self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store query failed: {exc}") from exc

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table."""
        rows = self.query("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()
