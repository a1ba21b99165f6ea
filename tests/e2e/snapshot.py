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
        assert one("SELECT COUNT(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.id)") == 0
        assert one("SELECT COUNT(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.doc_id)") == 0
        assert one("SELECT COUNT(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vchunks v WHERE v.chunk_id = c.id)") == 0
        assert one("SELECT COUNT(*) FROM vchunks v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)") == 0
        assert one("SELECT COUNT(*) FROM mentions m WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = m.entity_id)") == 0
        assert one("SELECT COUNT(*) FROM mentions m WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = m.chunk_id)") == 0
        assert one("SELECT COUNT(*) FROM entities e WHERE NOT EXISTS (SELECT 1 FROM aliases a WHERE a.entity_id = e.id)") == 0
        assert one("SELECT COUNT(*) FROM relations r WHERE NOT EXISTS (SELECT 1 FROM evidence v WHERE v.relation_id = r.id)") == 0
        assert one("SELECT COUNT(*) FROM evidence v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)") == 0
        assert one("SELECT COUNT(*) FROM vchunks_fts") == one("SELECT COUNT(*) FROM vchunks")
        return {t: one(f"SELECT COUNT(*) FROM {t}") for t in ("documents", "chunks", "entities", "relations")}  # noqa: S608
    finally:
        conn.close()
