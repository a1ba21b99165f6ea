"""VectorStore contract: the same tests and expectations for every adapter (embedded, weaviate)."""

from __future__ import annotations

import numpy as np
import pytest

from graph.model import DocumentBundle
from graph.ports import VectorStore

from .bundles import Spec, build, d1, d1_v2, d2, d3, entity_vectors, unit_vector


def _all_chunks(bundles: list[DocumentBundle]) -> dict[str, np.ndarray]:
    return {c.id: b.chunk_vectors[i] for b in bundles for i, c in enumerate(b.chunks)}


def _expected_order(query: np.ndarray, vectors: dict[str, np.ndarray]) -> list[str]:
    return sorted(vectors, key=lambda cid: -float(vectors[cid] @ query))


def test_search_chunks_ranks_by_cosine(vector_store: VectorStore) -> None:
    bundles = [d1(), d2(), d3()]
    vector_store.write_documents(bundles)
    vectors = _all_chunks(bundles)

    for chunk_id, vec in vectors.items():
        hits = vector_store.search_chunks(vec, k=3)
        assert [h.chunk_id for h in hits] == _expected_order(vec, vectors)[:3]
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert hits[0].doc_id == chunk_id.split("-")[0]
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
        for h in hits:
            assert h.score == pytest.approx(float(vectors[h.chunk_id] @ vec), abs=1e-4)

    query = unit_vector("some question")
    assert [h.chunk_id for h in vector_store.search_chunks(query, k=100)] == _expected_order(query, vectors)


def test_search_chunks_filters_by_document(vector_store: VectorStore) -> None:
    bundles = [d1(), d2(), d3()]
    vector_store.write_documents(bundles)
    query = unit_vector("filter question")

    hits = vector_store.search_chunks(query, k=10, doc_ids=["d2"])
    assert sorted(h.chunk_id for h in hits) == ["d2-c0", "d2-c1"]
    hits = vector_store.search_chunks(query, k=10, doc_ids=["d1", "d3"])
    assert {h.doc_id for h in hits} == {"d1", "d3"} and len(hits) == 4
    assert vector_store.search_chunks(query, k=10, doc_ids=[]) == []
    assert vector_store.search_chunks(query, k=10, doc_ids=["nope"]) == []


def test_write_replaces_and_delete_removes_a_documents_chunks(vector_store: VectorStore) -> None:
    vector_store.write_documents([d1(), d2()])
    old, new = d1(), d1_v2()
    vector_store.write_documents([new])

    hit = vector_store.search_chunks(new.chunk_vectors[0], k=1)[0]
    assert (hit.chunk_id, hit.score) == ("d1-c0", pytest.approx(1.0, abs=1e-4))
    hit = vector_store.search_chunks(old.chunk_vectors[0], k=1, doc_ids=["d1"])[0]
    assert hit.score < 0.999
    query = unit_vector("q")
    assert len(vector_store.search_chunks(query, k=100)) == 4

    shorter = build(Spec("d1", ["Only one sentence remains."], version="v3"))
    vector_store.write_documents([shorter])
    assert [h.chunk_id for h in vector_store.search_chunks(query, k=100, doc_ids=["d1"])] == ["d1-c0"]
    assert vector_store.keyword_search("spring", k=5) == []

    vector_store.delete_document("d2")
    vector_store.delete_document("nope")
    assert {h.doc_id for h in vector_store.search_chunks(query, k=100)} == {"d1"}


def test_keyword_search_ranks_by_bm25(vector_store: VectorStore) -> None:
    vector_store.write_documents([d1(), d2(), d3()])

    hits = vector_store.keyword_search("savanna", k=5)
    assert [h.chunk_id for h in hits] == ["d3-c0"] and hits[0].score > 0
    hits = vector_store.keyword_search("Falcon rocket launched", k=5)
    assert hits[0].chunk_id == "d2-c0" and hits[0].doc_id == "d2"
    assert all(a.score >= b.score > 0 for a, b in zip(hits, hits[1:], strict=False))
    hits = vector_store.keyword_search("Carol White zoo", k=5)
    assert [h.chunk_id for h in hits] == ["d3-c1", "d3-c0"]
    assert [h.chunk_id for h in vector_store.keyword_search("Carol White zoo", k=1)] == ["d3-c1"]

    assert vector_store.keyword_search("Falcon", k=5, doc_ids=["d1"]) == []
    assert [h.chunk_id for h in vector_store.keyword_search("Acme", k=10, doc_ids=["d2"])] != []
    assert vector_store.keyword_search("Acme", k=10, doc_ids=[]) == []
    assert vector_store.keyword_search("the of and", k=5) == []
    assert vector_store.keyword_search("", k=5) == []
    assert vector_store.keyword_search("nonexistentword", k=5) == []


def test_entity_vectors(vector_store: VectorStore) -> None:
    ids = ["alice", "acme", "bob"]
    vecs = entity_vectors(ids)
    vector_store.upsert_entities(ids, vecs)

    hits = vector_store.search_entities(vecs[1], k=2)
    expected = sorted(range(3), key=lambda i: -float(vecs[i] @ vecs[1]))[:2]
    assert [h.entity_id for h in hits] == [ids[i] for i in expected]
    assert [h.score for h in hits] == [pytest.approx(float(vecs[i] @ vecs[1]), abs=1e-4) for i in expected]
    assert vector_store.missing_entities(["alice", "zed", "zed"]) == {"zed"}
    assert vector_store.missing_entities([]) == set()

    moved = unit_vector("acme moved")
    vector_store.upsert_entities(["acme"], moved[None, :])
    hit = vector_store.search_entities(moved, k=1)[0]
    assert hit.entity_id == "acme" and hit.score == pytest.approx(1.0, abs=1e-4)
    assert len(vector_store.search_entities(moved, k=10)) == 3
    assert [h.entity_id for h in vector_store.search_entities(moved, k=10, min_score=0.99)] == ["acme"]
    assert vector_store.search_entities(-moved, k=10, min_score=0.99) == []

    vector_store.delete_entities(["acme", "nope"])
    assert vector_store.missing_entities(ids) == {"acme"}
    assert "acme" not in {h.entity_id for h in vector_store.search_entities(moved, k=10)}


def test_keyword_search_ignores_diacritics(vector_store: VectorStore) -> None:
    """Both backends fold accents alike: a question typed without them finds the passage that has them."""
    vector_store.write_documents([d1(), build(Spec("acc", ["Aschenbrödel is a Czech fairy tale film.",
                                                           "The Tekezé river flows through Ethiopia."]))])
    for query, chunk in [("Aschenbrodel", "acc-c0"), ("Aschenbrödel", "acc-c0"), ("tekeze river", "acc-c1"),
                         ("TEKEZÉ", "acc-c1")]:
        assert [h.chunk_id for h in vector_store.keyword_search(query, k=5)][:1] == [chunk], query
