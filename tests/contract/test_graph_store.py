"""GraphStore contract: the same tests and expectations for every adapter (embedded, neo4j)."""

from __future__ import annotations

import pytest

from core.errors import NotFoundError
from graph.model import Entity, relation_id
from graph.ports import GraphStore

from .bundles import d1, d1_v2, d2, d3

FOUNDED = relation_id("alice", "FOUNDED", "acme")
EMPLOYS = relation_id("acme", "EMPLOYS", "bob")
PRODUCES = relation_id("acme", "PRODUCES", "rocket")
KNOWS = relation_id("zed", "KNOWS", "carol")


def test_documents_and_chunks_read_back(graph_store: GraphStore) -> None:
    b1, b2, b3 = d1(), d2(), d3()
    assert graph_store.write_documents([b1, b2]) == []
    assert graph_store.write_documents([b3]) == []

    assert graph_store.document_hashes(["d1", "d3", "nope"]) == {"d1": b1.document.sha256, "d3": b3.document.sha256}
    assert graph_store.get_document("d1") == b1.document
    assert graph_store.get_document("nope") is None
    assert graph_store.find_documents("d2") == [b2.document]
    assert graph_store.find_documents("/corpus/d3.txt") == [b3.document]
    assert graph_store.find_documents("nope") == []
    assert [d.id for d in graph_store.list_documents()] == ["d1", "d2", "d3"]
    assert [d.id for d in graph_store.list_documents(offset=1, limit=1)] == ["d2"]
    found, total = graph_store.search_documents("TITLE D")  # titles "Title d1" .. "Title d3", case-insensitive
    assert ([d.id for d in found], total) == (["d1", "d2", "d3"], 3)
    found, total = graph_store.search_documents("title", offset=1, limit=1)
    assert ([d.id for d in found], total) == (["d2"], 3)
    assert graph_store.search_documents("corpus/d3.TXT") == ([b3.document], 1)  # the source path matches too
    assert graph_store.search_documents("zebra") == ([], 0)  # titles and sources only, not the text

    assert graph_store.get_chunks(["d1-c1", "nope", "d1-c0"]) == [b1.chunks[1], b1.chunks[0]]
    stats = graph_store.stats()
    assert (stats.documents, stats.chunks, stats.entities, stats.relations, stats.mentions) == (3, 6, 7, 4, 13)


def test_entities_aliases_and_mentions(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1()])

    acme = graph_store.get_entity("acme")
    assert acme == Entity(
        "acme", "Acme Corp", "Organization", ("Acme Corp",),
        'Organization mentioned in 2 passage(s) of 1 document(s). "Alice Smith founded Acme Corp in Paris."',
    )
    assert graph_store.get_entity("nope") is None
    assert graph_store.existing_entities(["alice", "bob", "nope"]) == {"alice", "bob"}

    graph_store.write_documents([d2()])
    acme = graph_store.get_entity("acme")
    assert acme is not None and set(acme.aliases) == {"Acme Corp", "Acme"}
    assert acme.description.startswith("Organization mentioned in 4 passage(s) of 2 document(s).")
    assert [(m.chunk_id, m.start, m.surface) for m in graph_store.mentions_of("acme")] == [
        ("d1-c0", 20, "Acme Corp"), ("d1-c1", 40, "Acme Corp"), ("d2-c0", 0, "Acme"), ("d2-c1", 64, "Acme")
    ]
    assert len(graph_store.mentions_of("acme", limit=2)) == 2

    chunk_entities = graph_store.chunk_entities(["d1-c0", "d1-c1", "nope"])
    assert {k: sorted(v) for k, v in chunk_entities.items()} == {
        "d1-c0": ["acme", "alice", "paris"], "d1-c1": ["acme", "bob"], "nope": []
    }
    assert set(graph_store.entity_keys()) == {
        ("alice smith", "alice"), ("acme", "acme"), ("paris", "paris"), ("bob jones", "bob"),
        ("falcon rocket", "rocket"),
    }


def test_relations_neighbours_and_evidence(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d2()])

    out = graph_store.neighbours("acme")
    assert [(n.relation.id, n.direction, n.entity.id) for n in out] == [
        (FOUNDED, "in", "alice"), (PRODUCES, "out", "rocket"), (EMPLOYS, "out", "bob")
    ]
    founded = out[0].relation
    assert (founded.head, founded.type, founded.tail, founded.confidence) == ("alice", "FOUNDED", "acme", 0.9)
    assert [(e.chunk_id, e.doc_id, e.confidence) for e in founded.evidence] == [
        ("d1-c0", "d1", 0.9), ("d2-c1", "d2", 0.6)
    ]
    assert (out[0].entity.name, out[0].entity.type) == ("Alice Smith", "Person")
    assert [n.relation.id for n in graph_store.neighbours("acme", limit=1)] == [FOUNDED]
    assert graph_store.neighbours("nope") == []

    between = graph_store.relations_between(["alice", "acme", "bob"])
    assert [r.id for r in between] == [FOUNDED, EMPLOYS]
    assert between[1].evidence[0].start == 40
    assert graph_store.relations_between(["alice", "bob"]) == []
    assert graph_store.relations_between([]) == []

    assert graph_store.relation_pairs() == sorted([
        (FOUNDED, "alice", "acme", "FOUNDED", 0.9),
        (EMPLOYS, "acme", "bob", "EMPLOYS", 0.7),
        (PRODUCES, "acme", "rocket", "PRODUCES", 0.8),
    ])
    assert graph_store.mention_pairs() == [
        ("d1-c0", "d1", "acme"), ("d1-c0", "d1", "alice"), ("d1-c0", "d1", "paris"),
        ("d1-c1", "d1", "acme"), ("d1-c1", "d1", "bob"),
        ("d2-c0", "d2", "acme"), ("d2-c0", "d2", "paris"), ("d2-c0", "d2", "rocket"),
        ("d2-c1", "d2", "acme"), ("d2-c1", "d2", "alice"),
    ]


def test_replace_replaces_exactly_the_contribution(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d3()])
    new = d1_v2()

    assert graph_store.write_documents([new]) == ["bob", "paris"]

    assert graph_store.document_hashes(["d1"]) == {"d1": new.document.sha256}
    assert graph_store.get_chunks(["d1-c0", "d1-c1"]) == list(new.chunks)
    assert graph_store.existing_entities(["alice", "acme", "bob", "paris", "carol"]) == {"alice", "acme", "carol"}
    assert [(r.id, r.confidence, len(r.evidence)) for r in graph_store.relations_between(["alice", "acme", "bob"])] == [
        (FOUNDED, 0.95, 1)
    ]
    carol = graph_store.get_entity("carol")
    assert carol is not None and carol.description.startswith("Person mentioned in 3 passage(s) of 2 document(s).")
    assert [r[0] for r in graph_store.relation_pairs()] == sorted([FOUNDED, KNOWS])
    stats = graph_store.stats()
    assert (stats.documents, stats.chunks, stats.entities, stats.relations, stats.mentions) == (2, 4, 4, 2, 7)


def test_delete_keeps_shared_support(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d2()])

    assert graph_store.delete_document("d1") == ["bob"]

    assert graph_store.get_document("d1") is None
    assert graph_store.get_chunks(["d1-c0", "d1-c1"]) == []
    acme = graph_store.get_entity("acme")
    assert acme is not None and (acme.name, acme.aliases) == ("Acme", ("Acme",))
    assert [(r.id, r.confidence, [e.doc_id for e in r.evidence]) for r in graph_store.relations_between(
        ["alice", "acme", "bob", "rocket"])] == [(PRODUCES, 0.8, ["d2"]), (FOUNDED, 0.6, ["d2"])]
    assert graph_store.existing_entities(["alice", "acme", "bob", "paris", "rocket"]) == {
        "alice", "acme", "paris", "rocket"
    }
    assert {m[1] for m in graph_store.mention_pairs()} == {"d2"}
    assert ("bob jones", "bob") not in graph_store.entity_keys()

    assert graph_store.delete_document("d2") == ["acme", "alice", "paris", "rocket"]
    stats = graph_store.stats()
    assert (stats.documents, stats.chunks, stats.entities, stats.relations, stats.mentions) == (0, 0, 0, 0, 0)


def test_delete_unknown_document_raises_not_found(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1()])
    before = graph_store.version()
    with pytest.raises(NotFoundError):
        graph_store.delete_document("nope")
    assert graph_store.version() == before
    assert graph_store.get_document("d1") is not None


def test_entity_type_upgrades_from_thing_only(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1()])
    paris = graph_store.get_entity("paris")
    assert paris is not None and paris.type == "Thing"
    graph_store.write_documents([d2()])
    paris = graph_store.get_entity("paris")
    assert paris is not None and paris.type == "Location"
    graph_store.write_documents([d1()])  # 'Thing' again: a typed entity keeps its type
    paris = graph_store.get_entity("paris")
    assert paris is not None and paris.type == "Location"


def test_search_entities_exact_and_prefix(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d2(), d3()])

    assert [(h.entity_id, h.score) for h in graph_store.search_entities("Alice Smith")] == [("alice", 1.0)]
    assert [(h.entity_id, h.score) for h in graph_store.search_entities("ACME")] == [("acme", 1.0)]
    hits = graph_store.search_entities("ali")
    assert [h.entity_id for h in hits] == ["alice"]
    assert hits[0].score == pytest.approx(0.5 + 0.4 * 3 / len("alice smith"))
    # "a" normalises to nothing (too short), so it is matched as a raw prefix; shorter aliases score higher
    assert [h.entity_id for h in graph_store.search_entities("a")] == ["acme", "alice"]
    assert [h.entity_id for h in graph_store.search_entities("a", limit=1)] == ["acme"]
    assert graph_store.search_entities("zzz") == []
    assert graph_store.search_entities("   ") == []
    for odd in ('a"b(c)*?:\\', "+-", "AT&T", "[x] OR y~"):
        assert graph_store.search_entities(odd) == []


def test_version_changes_on_every_write_and_delete(graph_store: GraphStore) -> None:
    seen = [graph_store.version()]
    graph_store.write_documents([d1()])
    seen.append(graph_store.version())
    graph_store.write_documents([d1()])
    seen.append(graph_store.version())
    graph_store.delete_document("d1")
    seen.append(graph_store.version())
    assert len(set(seen)) == len(seen)
    assert graph_store.version() == seen[-1]


def test_one_batch_equals_separate_writes(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d2(), d3()])
    batch = (graph_store.mention_pairs(), graph_store.relation_pairs(), sorted(graph_store.entity_keys()))
    for doc_id in ("d1", "d2", "d3"):
        graph_store.delete_document(doc_id)
    for bundle in (d1(), d2(), d3()):
        graph_store.write_documents([bundle])
    assert (graph_store.mention_pairs(), graph_store.relation_pairs(), sorted(graph_store.entity_keys())) == batch


def test_batch_lookups_for_explanations(graph_store: GraphStore) -> None:
    b1, b2 = d1(), d2()
    graph_store.write_documents([b1, b2])
    assert graph_store.entity_names(["acme", "alice", "nope"]) == {"acme": "Acme Corp", "alice": "Alice Smith"}
    assert graph_store.document_titles(["d1", "d2", "nope"]) == {"d1": b1.document.title, "d2": b2.document.title}
    best = graph_store.best_evidence([FOUNDED, "nope"])
    assert set(best) == {FOUNDED}
    founded = next(r for r in b1.relations if r.id == FOUNDED)
    assert best[FOUNDED] == max(founded.evidence, key=lambda e: e.confidence)
    assert graph_store.entity_names([]) == {} and graph_store.best_evidence([]) == {}


def test_named_aliases_without_mentions_are_kept_per_document(graph_store: GraphStore) -> None:
    import dataclasses

    b1 = d1()
    acme = next(e for e in b1.entities if e.id == "acme")
    renamed = dataclasses.replace(acme, aliases=(*acme.aliases, "ACME Rockets"))
    bundle = dataclasses.replace(b1, entities=tuple(renamed if e.id == "acme" else e for e in b1.entities))
    graph_store.write_documents([bundle])
    assert ("acme rockets", "acme") in set(graph_store.entity_keys())
    entity = graph_store.get_entity("acme")
    assert entity is not None and "ACME Rockets" in entity.aliases
    graph_store.delete_document("d1")
    assert ("acme rockets", "acme") not in set(graph_store.entity_keys())


@pytest.mark.parametrize("query", ["%_", "*", "?", "a*", "\\"])
def test_entity_search_treats_wildcards_literally(graph_store: GraphStore, query: str) -> None:
    graph_store.write_documents([d1()])
    assert graph_store.search_entities(query) == []


def test_type_census_counts_entity_types_and_typed_relations(graph_store: GraphStore) -> None:
    """What an ontology change is checked against (on every adapter, not only the embedded file)."""
    assert graph_store.type_census().entity_types == {}
    graph_store.write_documents([d1(), d2(), d3()])
    census = graph_store.type_census()
    assert sum(census.entity_types.values()) == graph_store.stats().entities
    assert census.entity_types["Person"] == 4 and census.entity_types["Organization"] == 1
    assert census.relation_triples == {
        ("FOUNDED", "Person", "Organization"): 1, ("EMPLOYS", "Organization", "Person"): 1,
        ("PRODUCES", "Organization", "Product"): 1, ("KNOWS", "Person", "Person"): 1,
    }
    graph_store.delete_document("d3")
    census = graph_store.type_census()
    assert ("KNOWS", "Person", "Person") not in census.relation_triples
    assert census.entity_types["Person"] == 2


def test_model_stamps_round_trip(graph_store: GraphStore) -> None:
    assert graph_store.model_stamp("embedder") is None
    graph_store.save_model_stamp("embedder", '{"name": "a"}')
    graph_store.save_model_stamp("embedder", '{"name": "b"}')
    assert graph_store.model_stamp("embedder") == '{"name": "b"}'
    assert graph_store.model_stamp("reader") is None
