"""Embedded VectorStore: vectors as SQLite BLOBs, exact cosine search in numpy, FTS5 BM25.

The chunk and entity matrices are kept in memory (:mod:`graph.embedded.vector_matrix`) and brought up to
date incrementally when a writer, in this process or another, bumped the store's vector generation: new rows
are appended, deleted ones marked dead, nothing is read whole again.
Each vector space (:mod:`graph.spaces`) has its own tables: ``vchunks``,
``vchunks_fts`` and ``ventities`` for the original one, the same names with
``_<space>`` after ``vchunks``/``ventities`` for a space a migration added.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterable, Sequence

import numpy as np

from graph.embedded.database import EmbeddedDatabase, deletion_trigger
from graph.embedded.vector_matrix import MatrixView, VectorMatrix, next_rowids, prune_deletions
from graph.model import DocumentBundle, ScoredChunk, ScoredEntity
from graph.normalize import KEYWORD_STOPWORDS
from graph.ports import Vector, VectorStore

_BUMP = (
    "INSERT INTO meta(key, value) VALUES ('vector_generation', '1')"
    " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)
_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = KEYWORD_STOPWORDS


def _space_schema(chunks: str, entities: str) -> str:
    """The tables of a space added by a migration (the original space's are in the database schema)."""
    return f"""
CREATE TABLE IF NOT EXISTS {chunks} (
    rid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
    text TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {chunks}_doc ON {chunks}(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS {chunks}_fts USING fts5(
    text, content='{chunks}', content_rowid='rid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS {chunks}_ai AFTER INSERT ON {chunks} BEGIN
    INSERT INTO {chunks}_fts(rowid, text) VALUES (new.rid, new.text); END;
CREATE TRIGGER IF NOT EXISTS {chunks}_ad AFTER DELETE ON {chunks} BEGIN
    INSERT INTO {chunks}_fts({chunks}_fts, rowid, text) VALUES ('delete', old.rid, old.text); END;
CREATE TABLE IF NOT EXISTS {entities} (entity_id TEXT PRIMARY KEY, vector BLOB NOT NULL);
{deletion_trigger(chunks, "chunk_id")}
{deletion_trigger(entities, "entity_id")}
"""


def _statements(script: str) -> list[str]:
    """The statements of ``script`` (a trigger's body holds semicolons of its own)."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


def _to_blob(vec: Vector) -> bytes:
    return np.asarray(vec, dtype=np.float32).tobytes()


def _scores(m: MatrixView, vector: Vector) -> np.ndarray:
    """The matrix's scores for ``vector``; -inf for dead rows."""
    scores = m.vectors @ np.asarray(vector, dtype=np.float32)
    return np.where(m.alive, scores, -np.inf)


def _exact_scores(vectors: np.ndarray, rows: list[int], query: Vector) -> list[float]:
    """The cosine scores of ``rows``, each computed on its own in float64 (then float32).

    A matrix-vector product rounds a row's score differently with the matrix's shape, so the
    scores the search ranked by are recomputed row by row: a chunk's score does not depend on
    which other chunks the store holds (what a restricted view relies on)."""
    q = np.asarray(query, dtype=np.float64)
    return [float(np.float32(np.dot(vectors[i].astype(np.float64), q))) for i in rows]


class EmbeddedVectorStore(VectorStore):
    """VectorStore over :class:`EmbeddedDatabase`."""

    def __init__(self, db: EmbeddedDatabase, space: str = "", owns_db: bool = False) -> None:
        """Use ``db``'s tables of ``space`` (created when missing; ``""``: the original space); ``owns_db``:
        :meth:`close` closes ``db``.

        Raises:
            StoreError: the tables cannot be created.
        """
        if space and not space.isalnum():
            raise ValueError(f"bad vector space name {space!r}")
        self._db = db
        self._owns_db = owns_db
        self.space = space
        self._vc = f"vchunks_{space}" if space else "vchunks"
        self._fts = f"{self._vc}_fts"
        self._ve = f"ventities_{space}" if space else "ventities"
        if space:
            with db.transaction() as conn:
                for statement in _statements(_space_schema(self._vc, self._ve)):
                    conn.execute(statement)
        self._chunks = VectorMatrix(db, self._vc, "chunk_id", "doc_id")
        self._entities = VectorMatrix(db, self._ve, "entity_id", None)

    # -- writes -----------------------------------------------------------------

    def write_documents(self, bundles: Sequence[DocumentBundle]) -> None:
        """See :meth:`VectorStore.write_documents`."""
        with self._db.transaction() as conn:
            deleted = 0
            first = next_rowids(conn, self._vc, sum(len(b.chunks) for b in bundles))
            for bundle in bundles:
                deleted += conn.execute(f"DELETE FROM {self._vc} WHERE doc_id=?", (bundle.document.id,)).rowcount
                vectors = np.asarray(bundle.chunk_vectors, dtype=np.float32)
                conn.executemany(
                    f"INSERT INTO {self._vc}(rid, chunk_id, doc_id, text, vector) VALUES (?, ?, ?, ?, ?)",
                    [
                        (first + i, c.id, c.doc_id, c.text, _to_blob(vectors[i]))
                        for i, c in enumerate(bundle.chunks)
                    ],
                )
                first += len(bundle.chunks)
            if deleted:
                prune_deletions(conn)
            conn.execute(_BUMP)

    def upsert_entities(self, entity_ids: Sequence[str], vectors: Vector) -> None:
        """See :meth:`VectorStore.upsert_entities`."""
        with self._db.transaction() as conn:
            first = next_rowids(conn, self._ve, len(entity_ids))
            conn.executemany(
                f"INSERT OR REPLACE INTO {self._ve}(rowid, entity_id, vector) VALUES (?, ?, ?)",
                [(first + i, eid, _to_blob(vectors[i])) for i, eid in enumerate(entity_ids)],
            )
            prune_deletions(conn)
            conn.execute(_BUMP)

    def delete_document(self, doc_id: str) -> None:
        """See :meth:`VectorStore.delete_document`."""
        with self._db.transaction() as conn:
            conn.execute(f"DELETE FROM {self._vc} WHERE doc_id=?", (doc_id,))
            prune_deletions(conn)
            conn.execute(_BUMP)

    def delete_entities(self, entity_ids: Sequence[str]) -> None:
        """See :meth:`VectorStore.delete_entities`."""
        with self._db.transaction() as conn:
            conn.executemany(f"DELETE FROM {self._ve} WHERE entity_id=?", [(e,) for e in entity_ids])
            prune_deletions(conn)
            conn.execute(_BUMP)

    # -- reads ------------------------------------------------------------------

    @staticmethod
    def _top(scores: np.ndarray, k: int) -> np.ndarray:
        if k >= len(scores):
            return np.argsort(-scores, kind="stable")
        part = np.argpartition(-scores, k)[:k]
        return part[np.argsort(-scores[part], kind="stable")]

    def search_chunks(
        self, vector: Vector, k: int, doc_ids: Sequence[str] | None = None, exclude_docs: Collection[str] = ()
    ) -> list[ScoredChunk]:
        """See :meth:`VectorStore.search_chunks`."""
        m = self._chunks.view()
        if not len(m):
            return []
        scores = _scores(m, vector)
        if doc_ids is not None:
            scores = np.where(m.rows_of(doc_ids), scores, -np.inf)
        if exclude_docs:
            scores = np.where(m.rows_of(exclude_docs), -np.inf, scores)
        top = [int(i) for i in self._top(scores, k) if np.isfinite(scores[i])]
        exact = _exact_scores(m.vectors, top, vector)
        return [ScoredChunk(m.ids[i], m.docs[i], exact[n]) for n, i in enumerate(top)]

    def keyword_search(
        self, query: str, k: int, doc_ids: Sequence[str] | None = None
    ) -> list[ScoredChunk]:
        """See :meth:`VectorStore.keyword_search`."""
        words = [w for w in _FTS_TOKEN.findall(query.lower()) if w not in _STOPWORDS]
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        params: list[object] = [match]
        where = ""
        if doc_ids is not None:
            ids = list(doc_ids)
            if not ids:
                return []
            where = f" AND v.doc_id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        params.append(k)
        rows = self._db.query(
            f"SELECT v.chunk_id, v.doc_id, -bm25({self._fts}) AS score FROM {self._fts}"
            f" JOIN {self._vc} v ON v.rid = {self._fts}.rowid WHERE {self._fts} MATCH ?{where}"
            " ORDER BY score DESC LIMIT ?",
            params,
        )
        return [ScoredChunk(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    def keyword_matches(self, words: Sequence[str], exclude_docs: Collection[str] = ()) -> list[tuple[str, str, str]]:
        """See :meth:`VectorStore.keyword_matches`."""
        terms = [w for w in dict.fromkeys(words) if w]
        if not terms:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in terms)
        rows = self._db.query(
            f"SELECT v.chunk_id, v.doc_id, v.text FROM {self._fts} JOIN {self._vc} v ON v.rid = {self._fts}.rowid"
            f" WHERE {self._fts} MATCH ? ORDER BY v.chunk_id",
            (match,),
        )
        hidden = set(exclude_docs)
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows if str(r[1]) not in hidden]

    def search_entities(self, vector: Vector, k: int, min_score: float | None = None) -> list[ScoredEntity]:
        """See :meth:`VectorStore.search_entities`."""
        m = self._entities.view()
        if not len(m) or k <= 0:
            return []
        scores = _scores(m, vector)
        rows = np.flatnonzero(np.isfinite(scores))
        if min_score is not None:  # a little below: the exact scores decide
            rows = np.flatnonzero(scores >= min_score - 1e-4)
        # a few more than k, ranked by exact score then id: equal vectors rank the same whatever the row order
        top = [int(rows[i]) for i in self._top(scores[rows], k + 8)]
        exact = _exact_scores(m.vectors, top, vector)
        ranked = sorted(zip(exact, (m.ids[i] for i in top), strict=True), key=lambda item: (-item[0], item[1]))
        return [ScoredEntity(eid, score) for score, eid in ranked[:k] if min_score is None or score >= min_score]

    def missing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """See :meth:`VectorStore.missing_entities`."""
        ids = list(dict.fromkeys(entity_ids))
        present: set[str] = set()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._db.query(
                f"SELECT entity_id FROM {self._ve} WHERE entity_id IN ({','.join('?' * len(part))})", part
            )
            present |= {str(r[0]) for r in rows}
        return set(ids) - present

    def chunk_docs(self) -> dict[str, str]:
        """See :meth:`VectorStore.chunk_docs`."""
        return {str(r[0]): str(r[1]) for r in self._db.query(f"SELECT chunk_id, doc_id FROM {self._vc}")}

    def entity_ids(self) -> set[str]:
        """See :meth:`VectorStore.entity_ids`."""
        return {str(r[0]) for r in self._db.query(f"SELECT entity_id FROM {self._ve}")}

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        """See :meth:`VectorStore.chunk_vectors`."""
        return self._vectors_of(self._vc, "chunk_id", chunk_ids)

    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, Vector]:
        """See :meth:`VectorStore.entity_vectors`."""
        return self._vectors_of(self._ve, "entity_id", entity_ids)

    def _vectors_of(self, table: str, column: str, ids: Sequence[str]) -> dict[str, Vector]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Vector] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            rows = self._db.query(
                f"SELECT {column}, vector FROM {table} WHERE {column} IN ({','.join('?' * len(part))})", part
            )
            out.update({str(r[0]): np.frombuffer(r[1], dtype=np.float32).copy() for r in rows})
        return out

    def drop(self) -> None:
        """See :meth:`VectorStore.drop`: the space's tables go; the original space's are emptied."""
        with self._db.transaction() as conn:
            if not self.space:
                conn.execute(f"DELETE FROM {self._vc}")
                conn.execute(f"DELETE FROM {self._ve}")
            else:
                for name in (f"{self._vc}_ai", f"{self._vc}_ad"):
                    conn.execute(f"DROP TRIGGER IF EXISTS {name}")
                for name in (self._fts, self._vc, self._ve):
                    conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(_BUMP)

    def close(self) -> None:
        """See :meth:`VectorStore.close` (a shared database is closed by its owner)."""
        if self._owns_db:
            self._db.close()
