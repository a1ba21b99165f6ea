"""Restricted views (graph/visible) over every adapter: what a viewer sees of a store holding a document it may
not see equals what it sees of a store that never held it, and is derived from the visible documents alone."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.access import Viewer
from graph.embedded.database import EmbeddedDatabase
from graph.embedded.graph_store import EmbeddedGraphStore
from graph.embedded.vector_store import EmbeddedVectorStore
from graph.model import DocumentBundle, relation_id
from graph.ontology import Ontology
from graph.ports import GraphStore, VectorStore
from graph.visible.graph_store import SnapshotCache, VisibleGraph
from graph.visible.vector_store import VisibleVectors, bm25

from .bundles import d1, d2, d3, unit_vector

GROUP = "group:finance"
OUTSIDER = Viewer.of(["team-a"])  # every bundle's document carries the ACL ("team-a",)


def _hidden(bundle: DocumentBundle) -> DocumentBundle:
    return dataclasses.replace(bundle, document=dataclasses.replace(bundle.document, acl=(GROUP,)))


@pytest.fixture
def reference(tmp_path: Path, ontology: Ontology) -> Iterator[tuple[GraphStore, VectorStore]]:
    """An embedded store that never held d1."""
    db = EmbeddedDatabase(tmp_path / "reference.db")
    graph, vectors = EmbeddedGraphStore(db, ontology.aliases), EmbeddedVectorStore(db)
    graph.write_documents([d2(), d3()])
    vectors.write_documents([d2(), d3()])
    yield graph, vectors
    db.close()


def _reads(graph: GraphStore) -> dict[str, Any]:
    ids = ["alice", "acme", "bob", "paris", "rocket", "carol", "zed"]
    return {
        "stats": graph.stats(),
        "documents": [(d.id, d.title, d.text) for d in graph.list_documents()],
        "document search": graph.search_documents("title"),
        "entities": {e: graph.get_entity(e) for e in ids},
        "names": graph.entity_names(ids),
        "existing": sorted(graph.existing_entities(ids)),
        "search acme": graph.search_entities("Acme"),
        "search prefix": graph.search_entities("Ac"),
        "neighbours": {e: graph.neighbours(e) for e in ids},
        "mentions": {e: graph.mentions_of(e) for e in ids},
        "between": graph.relations_between(ids),
        "keys": graph.entity_keys(),
        "pairs": graph.mention_pairs(),
        "relations": graph.relation_pairs(),
        "documents of": graph.entity_documents(ids),
        "census": graph.type_census(),
        "hidden chunk": graph.get_chunks(["d1-c0", "d2-c0"]),
    }


def test_a_view_equals_a_store_that_never_held_the_hidden_document(
        graph_store: GraphStore, reference: tuple[GraphStore, VectorStore], ontology: Ontology) -> None:
    graph_store.write_documents([_hidden(d1()), d2(), d3()])  # d1 first: it names Acme and types Paris first
    seen = VisibleGraph(SnapshotCache(graph_store), OUTSIDER, ontology.aliases)
    never = VisibleGraph(SnapshotCache(reference[0]), OUTSIDER, ontology.aliases)
    assert _reads(seen) == _reads(never)
    assert seen.get_document("d1") is None and seen.find_documents("d1") == []


def test_what_a_view_derives_comes_from_visible_support_only(graph_store: GraphStore, ontology: Ontology) -> None:
    graph_store.write_documents([_hidden(d1()), d2(), d3()])
    seen = VisibleGraph(SnapshotCache(graph_store), OUTSIDER, ontology.aliases)
    acme = seen.get_entity("acme")
    assert acme is not None and acme.name == "Acme" and "Acme Corp" not in acme.aliases  # d1's name is hidden
    assert acme.description.startswith("Organization mentioned in 2 passage(s) of 1 document(s).")
    assert seen.get_entity("bob") is None  # only d1 mentions Bob
    paris = seen.get_entity("paris")
    assert paris is not None and paris.type == "Location"
    founded = {r.id: r for r in seen.relations_between(["alice", "acme"])}[relation_id("alice", "FOUNDED", "acme")]
    assert founded.confidence == pytest.approx(0.6) and {e.doc_id for e in founded.evidence} == {"d2"}
    assert relation_id("acme", "EMPLOYS", "bob") not in {r[0] for r in seen.relation_pairs()}
    holder = VisibleGraph(SnapshotCache(graph_store), Viewer.of(["team-a", GROUP]), ontology.aliases)
    assert holder.get_entity("bob") is not None and holder.stats() == graph_store.stats()


def test_a_view_refuses_writes(graph_store: GraphStore, ontology: Ontology) -> None:
    from core.errors import StoreError

    seen = VisibleGraph(SnapshotCache(graph_store), OUTSIDER, ontology.aliases)
    with pytest.raises(StoreError, match="read-only"):
        seen.write_documents([d2()])
    with pytest.raises(StoreError, match="read-only"):
        seen.delete_document("d2")


def test_snapshot_holds_every_row_at_the_stores_version(graph_store: GraphStore) -> None:
    graph_store.write_documents([_hidden(d1()), d2(), d3()])
    snap = graph_store.snapshot()
    stats = graph_store.stats()
    assert snap.version == graph_store.version()
    assert [d[0] for d in snap.documents] == ["d1", "d2", "d3"] and snap.documents[0][5] == (GROUP,)
    assert (len(snap.chunks), len(snap.entities), len(snap.mentions)) == (stats.chunks, stats.entities,
                                                                          stats.mentions)
    assert {r[0] for r in snap.relations} == {r[0] for r in graph_store.relation_pairs()}
    assert {(a[0], a[3]) for a in snap.aliases} >= {("acme", "d1"), ("acme", "d2")}
    assert snap.evidence == sorted(snap.evidence, key=lambda v: (v[0], -v[5], v[1], v[2], v[3]))


def test_vector_filters_leave_hidden_documents_out_before_ranking(vector_store: VectorStore) -> None:
    vector_store.write_documents([d1(), d2(), d3()])
    query = unit_vector("a question")
    without = vector_store.search_chunks(query, k=3, exclude_docs=["d1"])
    assert {h.doc_id for h in without} <= {"d2", "d3"} and len(without) == 3
    assert without == vector_store.search_chunks(query, k=3, doc_ids=["d2", "d3"])
    matches = vector_store.keyword_matches(["acme", "carol"], exclude_docs=["d1"])
    assert sorted(m[0] for m in matches) == ["d2-c0", "d2-c1", "d3-c0", "d3-c1"]
    assert all(m[1] != "d1" for m in matches)


def test_view_keyword_scores_ignore_hidden_chunks(
        vector_store: VectorStore, graph_store: GraphStore, reference: tuple[GraphStore, VectorStore],
        ontology: Ontology) -> None:
    graph_store.write_documents([_hidden(d1()), d2(), d3()])
    vector_store.write_documents([_hidden(d1()), d2(), d3()])
    seen = VisibleVectors(vector_store, VisibleGraph(SnapshotCache(graph_store), OUTSIDER, ontology.aliases))
    never = VisibleVectors(reference[1], VisibleGraph(SnapshotCache(reference[0]), OUTSIDER, ontology.aliases))
    for query in ("Acme founded Paris", "Carol White zoo", "rocket"):
        assert seen.keyword_search(query, 5) == never.keyword_search(query, 5)
        dense, plain = seen.search_chunks(unit_vector(query), 3), never.search_chunks(unit_vector(query), 3)
        assert [h.chunk_id for h in dense] == [h.chunk_id for h in plain]
        assert [h.score for h in dense] == pytest.approx([h.score for h in plain], abs=1e-5)  # adapters' float32
    assert all(h.doc_id != "d1" for h in seen.keyword_search("Acme Corp hired Bob", 10))


def test_bm25_prefers_rare_terms_and_short_chunks() -> None:
    matches = [(cid, "d", Counter(text.split())) for cid, text in
               (("a", "rare word here"), ("b", "common word"), ("c", "common common filler text"))]
    lengths = {"a": 14, "b": 11, "c": 25}
    ranked = bm25(["rare", "common"], matches, lengths, n_docs=10, mean_length=15.0)
    assert [r.chunk_id for r in ranked][0] == "a"  # one rare term beats common ones
    assert bm25(["missing"], matches, lengths, 10, 15.0) == []
