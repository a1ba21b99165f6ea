"""A comparable snapshot of everything an embedded store holds (ids, not timestamps)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

QUERIES = {
    "documents": "SELECT id, sha256 FROM documents",
    "chunks": 'SELECT id, doc_id, start, "end" FROM chunks',
    "entities": "SELECT id FROM entities",
    "aliases": "SELECT entity_id, surface, doc_id, count FROM aliases",
    "mentions": 'SELECT chunk_id, start, "end", entity_id FROM mentions',
    "relations": "SELECT id, head, type, tail FROM relations",
    "evidence": 'SELECT relation_id, chunk_id, start, "end" FROM evidence',
    "vchunks": "SELECT chunk_id, doc_id FROM vchunks",
    "ventities": "SELECT entity_id FROM ventities",
}


def snapshot(db: Path) -> dict[str, set[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {name: set(conn.execute(sql).fetchall()) for name, sql in QUERIES.items()}
    finally:
        conn.close()


def check_consistency(db: Path) -> dict[str, int]:
    """Invariants of a store: nothing dangling, nothing half-written. Returns counts."""
    conn = sqlite3.connect(db)
    try:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        dangling = [  # (rows, where they must point)
            ("documents d", "chunks c", "c.doc_id = d.id"),
            ("chunks c", "documents d", "d.id = c.doc_id"),
            ("chunks c", "vchunks v", "v.chunk_id = c.id"),
            ("vchunks v", "chunks c", "c.id = v.chunk_id"),
            ("mentions m", "entities e", "e.id = m.entity_id"),
            ("mentions m", "chunks c", "c.id = m.chunk_id"),
            ("entities e", "aliases a", "a.entity_id = e.id"),
            ("relations r", "evidence v", "v.relation_id = r.id"),
            ("evidence v", "chunks c", "c.id = v.chunk_id"),
        ]
        for table, other, on in dangling:
            sql = f"SELECT COUNT(*) FROM {table} WHERE NOT EXISTS (SELECT 1 FROM {other} WHERE {on})"  # noqa: S608
            assert one(sql) == 0, sql
        assert one("SELECT COUNT(*) FROM vchunks_fts") == one("SELECT COUNT(*) FROM vchunks")
        return {t: one(f"SELECT COUNT(*) FROM {t}") for t in ("documents", "chunks", "entities", "relations")}  # noqa: S608
    finally:
        conn.close()
