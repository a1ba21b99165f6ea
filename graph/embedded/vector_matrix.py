"""The in-memory copy of a vector table that exact search runs over, kept up to date incrementally.

A reload of the whole table after every write costs what the table holds (at 100k passages about 150 MB of
chunk vectors read back from SQLite) and would fall in the request path of the first query after each ingest.
Instead the copy follows the table:

* every row gets a row id from a per-table high-water mark that only grows (``meta`` key
  ``rowid_hwm:<table>``, see :func:`next_rowids`), so the rows added since the last look are exactly those
  with a larger row id, even after the rows with the highest ids were deleted;
* a trigger logs every deleted row's id in ``vector_deletions`` (an ``AUTOINCREMENT`` sequence), so the rows
  that went are those logged after the last look;
* a row replaced (an entity's vector upserted) is a deletion of its old row and a new row.

A refresh reads the new log entries and the new rows in one read transaction, marks deleted rows dead and
appends the new ones (arrays grow by doubling). When dead rows make up a quarter of the copy it is compacted
in memory. Only when the log was pruned past what this copy has seen (:data:`KEEP_DELETIONS`) is the table
read again whole. Readers take a :class:`MatrixView`: a consistent snapshot that later refreshes do not
change, except that a row deleted meanwhile may be marked dead in it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from graph.embedded.database import EmbeddedDatabase

KEEP_DELETIONS = 50_000  # log entries kept; a copy that has not looked since more were pruned reloads whole
_FLOOR_KEY = "vector_deletions_floor"


def next_rowids(conn: sqlite3.Connection, table: str, count: int) -> int:
    """The first of ``count`` new row ids for ``table``, above every id it ever held (call in a write
    transaction; SQLite alone would reuse the ids of deleted rows at the top)."""
    key = f"rowid_hwm:{table}"
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    top = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0]
    start = max(int(row[0]) if row else 0, int(top)) + 1
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                 (key, str(start + count - 1)))
    return start


def prune_deletions(conn: sqlite3.Connection) -> None:
    """Keep the last :data:`KEEP_DELETIONS` log entries (call in a write transaction after deleting)."""
    top = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM vector_deletions").fetchone()[0])
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_FLOOR_KEY,)).fetchone()
    floor = int(row[0]) if row else 0
    if top - floor <= 2 * KEEP_DELETIONS:
        return
    floor = top - KEEP_DELETIONS
    conn.execute("DELETE FROM vector_deletions WHERE seq <= ?", (floor,))
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                 (_FLOOR_KEY, str(floor)))


@dataclass(frozen=True, slots=True)
class MatrixView:
    """A snapshot of a vector table: row ``i`` is ``ids[i]`` of document ``docs[i]`` (``""`` for entities)."""

    ids: list[str]
    docs: list[str]
    doc_codes: np.ndarray  # a number per document, per row (``np.isin`` on strings is slow)
    doc_code: dict[str, int]
    vectors: np.ndarray
    alive: np.ndarray  # False for a row deleted (or replaced) since it was loaded

    def __len__(self) -> int:
        return len(self.vectors)

    def rows_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """A mask of the rows of ``doc_ids``."""
        codes = [self.doc_code[d] for d in doc_ids if d in self.doc_code]
        return np.isin(self.doc_codes, np.asarray(codes, dtype=np.int64))


class VectorMatrix:
    """The in-memory copy of one vector table (``rowid``, id column, optional document column, ``vector``)."""

    def __init__(self, db: EmbeddedDatabase, table: str, id_column: str, doc_column: str | None) -> None:
        self._db = db
        self._table = table
        self._select = (f"SELECT rowid, {id_column}, {doc_column or chr(39) * 2}, vector FROM {table}"
                        " WHERE rowid > {after} ORDER BY rowid")
        self._lock = threading.Lock()
        self.full_loads = 0  # how often the table was read whole (tests and benchmarks watch it)
        self._reset()

    def _reset(self) -> None:
        self._generation: str | None = None
        self._last_rowid = 0
        self._last_seq = 0
        self._n = 0
        self._dead = 0
        self._ids: list[str] = []
        self._docs: list[str] = []
        self._row_of: dict[str, int] = {}
        self._doc_code: dict[str, int] = {}
        self._codes = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._vectors = np.empty((0, 0), dtype=np.float32)
        self._view: MatrixView | None = None

    def view(self) -> MatrixView:
        """The table as it is now (refreshed when the store's vector generation moved)."""
        generation = self._db.get_meta("vector_generation") or "0"
        with self._lock:
            if self._view is not None and self._generation == generation:
                return self._view
            meta_sql = f"SELECT key, value FROM meta WHERE key IN ('vector_generation', '{_FLOOR_KEY}')"
            top_sql = "SELECT COALESCE(MAX(seq), 0) FROM vector_deletions"
            deletions: list[sqlite3.Row] = []
            full = self._view is None
            if not full:
                meta, top, deletions, rows = self._db.read_many([
                    meta_sql, top_sql,
                    f"SELECT id FROM vector_deletions WHERE tbl = '{self._table}' AND seq > {self._last_seq}",
                    self._select.format(after=self._last_rowid),
                ])
                if int(_values(meta).get(_FLOOR_KEY, "0")) > self._last_seq:  # pruned past this copy
                    full = True
                    self._reset()
            if full:
                meta, top, rows = self._db.read_many([meta_sql, top_sql, self._select.format(after=0)])
                deletions = []
                self.full_loads += 1
            self._apply([str(r[0]) for r in deletions], rows)
            self._last_seq = int(top[0][0])
            self._generation = _values(meta).get("vector_generation", "0")
            self._view = MatrixView(self._ids, self._docs, self._codes[: self._n], self._doc_code,
                                    self._vectors[: self._n], self._alive[: self._n])
            return self._view

    def _apply(self, deleted: list[str], rows: list[sqlite3.Row]) -> None:
        """Mark the deleted ids' rows dead, then append the new rows (a replaced id's old row is dead too);
        compact when a quarter of the rows are dead."""
        for key in deleted:
            self._kill(key)
        if rows:
            vectors = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            self._grow(len(rows), vectors.shape[1])
            start = self._n
            for i, r in enumerate(rows):
                key, doc = str(r[1]), str(r[2])
                self._kill(key)
                self._row_of[key] = start + i
                self._ids.append(key)
                self._docs.append(doc)
                self._codes[start + i] = self._doc_code.setdefault(doc, len(self._doc_code))
            self._vectors[start : start + len(rows)] = vectors
            self._alive[start : start + len(rows)] = True
            self._n += len(rows)
            self._last_rowid = int(rows[-1][0])
        if self._dead > max(1000, self._n // 4):
            self._compact()

    def _kill(self, key: str) -> None:
        row = self._row_of.pop(key, None)
        if row is not None:
            self._alive[row] = False
            self._dead += 1

    def _grow(self, extra: int, dim: int) -> None:
        need = self._n + extra
        if self._vectors.shape[0] >= need and self._vectors.shape[1] == dim:
            return
        capacity = max(need, 2 * self._vectors.shape[0], 1024)
        vectors = np.empty((capacity, dim), dtype=np.float32)
        if self._n:
            vectors[: self._n] = self._vectors[: self._n]
        codes = np.empty(capacity, dtype=np.int64)
        codes[: self._n] = self._codes[: self._n]
        alive = np.zeros(capacity, dtype=bool)
        alive[: self._n] = self._alive[: self._n]
        self._vectors, self._codes, self._alive = vectors, codes, alive  # views handed out keep the old arrays

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._n])
        self._ids = [self._ids[i] for i in keep]
        self._docs = [self._docs[i] for i in keep]
        self._row_of = {key: i for i, key in enumerate(self._ids)}
        self._vectors = self._vectors[keep].copy()
        self._codes = self._codes[keep].copy()
        self._alive = np.ones(len(keep), dtype=bool)
        self._n, self._dead = len(keep), 0


def _values(rows: list[sqlite3.Row]) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in rows}
