"""The embedded store's in-memory vector matrices follow writes incrementally, in this process and another.

Each check compares a reader's searches with a fresh store opened on the same file (which reads the tables
whole): after appends, deletions, re-written documents, replaced entity vectors, compaction and a pruned
deletion log the answers are the same, and only the pruned log makes the reader read a table whole again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graph.embedded import vector_matrix
from graph.embedded.database import EmbeddedDatabase
from graph.embedded.vector_store import EmbeddedVectorStore
from graph.model import DocumentBundle

from .bundles import Spec, build, d1, d1_v2, d2, d3, entity_vectors, unit_vector


def _doc(n: int) -> DocumentBundle:
    return build(Spec(f"m{n}", [f"passage {n} about topic {n % 7}", f"more on {n}"], []))


def _store(path: Path) -> EmbeddedVectorStore:
    return EmbeddedVectorStore(EmbeddedDatabase(path), owns_db=True)


def _same_answers(reader: EmbeddedVectorStore, path: Path, queries: list[np.ndarray]) -> None:
    fresh = _store(path)
    try:
        for q in queries:
            assert reader.search_chunks(q, k=50) == fresh.search_chunks(q, k=50)
            some = ["d1", "d2", "m5"]
            assert reader.search_chunks(q, k=5, doc_ids=some) == fresh.search_chunks(q, k=5, doc_ids=some)
            assert reader.search_entities(q, k=20) == fresh.search_entities(q, k=20)
    finally:
        fresh.close()


def test_reader_follows_another_writer_without_reading_whole(tmp_path: Path) -> None:
    path = tmp_path / "hopgraph.db"
    writer, reader = _store(path), _store(path)
    queries = [unit_vector(f"q{i}") for i in range(4)]
    try:
        writer.write_documents([d1(), d2()])
        _same_answers(reader, path, queries)
        assert reader._chunks.full_loads == 1

        writer.write_documents([d3(), *(_doc(i) for i in range(30))])  # appends
        writer.upsert_entities(["e1", "e2", "e3"], entity_vectors(["e1", "e2", "e3"]))
        _same_answers(reader, path, queries)
        writer.write_documents([d1_v2()])  # a document re-written: its old chunks go, new ones come
        writer.delete_document("m3")
        writer.upsert_entities(["e2"], entity_vectors(["e2x"]))  # a replaced vector
        writer.delete_entities(["e3"])
        _same_answers(reader, path, queries)
        hit = reader.search_chunks(d1_v2().chunk_vectors[0], k=1)[0]
        assert hit.chunk_id == "d1-c0" and hit.score > 0.999
        assert "m3" not in {h.doc_id for h in reader.search_chunks(queries[0], k=100)}
        assert [e.entity_id for e in reader.search_entities(entity_vectors(["e2x"])[0], k=1)] == ["e2"]
        assert "e3" not in {e.entity_id for e in reader.search_entities(queries[1], k=100)}
        assert (reader._chunks.full_loads, reader._entities.full_loads) == (1, 1)
    finally:
        writer.close()
        reader.close()


def test_top_rows_deleted_then_new_rows_are_seen(tmp_path: Path) -> None:
    """SQLite reuses the row ids of deleted rows at the top; the high-water mark makes new rows' ids larger."""
    path = tmp_path / "hopgraph.db"
    writer, reader = _store(path), _store(path)
    try:
        writer.write_documents([_doc(1), _doc(2)])
        reader.search_chunks(unit_vector("x"), k=5)
        writer.delete_document("m2")
        writer.write_documents([_doc(3)])
        assert {h.doc_id for h in reader.search_chunks(unit_vector("x"), k=10)} == {"m1", "m3"}
    finally:
        writer.close()
        reader.close()


def test_compaction_and_pruned_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hopgraph.db"
    writer, reader = _store(path), _store(path)
    queries = [unit_vector(f"q{i}") for i in range(3)]
    try:
        writer.write_documents([_doc(i) for i in range(1200)])
        _same_answers(reader, path, queries)
        for i in range(0, 1200, 200):  # 1,200 chunk rows deleted: more than 1,000 and a quarter, so compacted
            writer.write_documents([_doc(j) for j in range(i, i + 200)])
            _same_answers(reader, path, queries)
        assert reader._chunks.full_loads == 1
        assert reader._chunks._dead < 1000  # compacted in memory
        monkeypatch.setattr(vector_matrix, "KEEP_DELETIONS", 10)
        for i in range(20):  # 40 deletions, the log pruned past what the reader saw: it reads the table whole once
            writer.delete_document(f"m{i}")
        _same_answers(reader, path, queries)
        assert reader._chunks.full_loads == 2
    finally:
        writer.close()
        reader.close()
