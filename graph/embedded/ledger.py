"""The write ledger of an embedded graph store: its own SQLite file next to the graph."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from core.errors import StoreError
from graph.ledger import Intent, Ledger


class SqliteLedger(Ledger):
    """A ledger in its own SQLite file (WAL, synchronous=FULL), for an embedded graph store."""

    def __init__(self, path: Path) -> None:
        """Open or create the ledger at ``path``.

        Raises:
            StoreError: the file cannot be opened.
        """
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS intents (key TEXT PRIMARY KEY, op TEXT NOT NULL, doc_id TEXT NOT NULL,"
                " entities TEXT NOT NULL, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,"
                " started_at REAL NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open write ledger {path}: {exc}") from exc

    def record(self, add: Sequence[Intent] = (), remove: Sequence[str] = ()) -> None:
        """See :meth:`Ledger.record`."""
        if not add and not remove:
            return
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("DELETE FROM intents WHERE key=?", [(k,) for k in remove])
                self._conn.executemany(
                    "INSERT OR REPLACE INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(i.key, i.op, i.doc_id, json.dumps(list(i.entities)), i.owner, i.host, i.pid, i.started_at)
                     for i in add],
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(f"write ledger update failed: {exc}") from exc

    def pending(self) -> list[Intent]:
        """See :meth:`Ledger.pending`."""
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT key, op, doc_id, entities, owner, host, pid, started_at FROM intents"
                    " ORDER BY started_at, key"
                ).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"write ledger read failed: {exc}") from exc
        return [Intent(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], int(r[6]), float(r[7])) for r in rows]

    def close(self) -> None:
        """See :meth:`Ledger.close`."""
        with self._lock:
            self._conn.close()
