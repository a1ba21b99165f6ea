"""GraphStore contract for curation: stored records, pinned entities, documents of entities."""

from __future__ import annotations

from dataclasses import replace

from graph.model import DocumentBundle, Entity
from graph.ports import GraphStore

from .bundles import d1, d2, d3


def _pin(bundle: DocumentBundle, entity_id: str, name: str, etype: str, aliases: tuple[str, ...]) -> DocumentBundle:
    entities = tuple(replace(e, name=name, type=etype, aliases=aliases, pinned=True) if e.id == entity_id else e
                     for e in bundle.entities)
    return replace(bundle, entities=entities)


def test_curation_records_are_stored_replaced_and_deleted(graph_store: GraphStore) -> None:
    assert graph_store.curation_rules() == {}
    before = graph_store.version()
    graph_store.save_curation_rules({"edit:acme": '{"a": 1}', "merge:bob": '{"target": "alice"}'})
    assert graph_store.version() != before  # retrievers must notice a curation change
    assert graph_store.curation_rules() == {"edit:acme": '{"a": 1}', "merge:bob": '{"target": "alice"}'}
    graph_store.save_curation_rules({"edit:acme": '{"a": 2}', "merge:bob": None, "merge:nope": None})
    assert graph_store.curation_rules() == {"edit:acme": '{"a": 2}'}


def test_entity_documents_lists_every_supporting_document(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d2(), d3()])
    assert graph_store.entity_documents(["acme"]) == ["d1", "d2"]
    assert graph_store.entity_documents(["bob", "carol", "nope"]) == ["d1", "d3"]
    assert graph_store.entity_documents([]) == []


def test_a_pinned_entity_keeps_its_name_and_type_across_writes(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1(), d2()])
    # curation: Acme is renamed and retyped, and d2 (which says only "Acme") loses that alias
    pinned = _pin(d1(), "acme", "Acme Rockets", "Group", ("Acme Corp", "Acme Rockets"))
    pinned2 = _pin(d2(), "acme", "Acme Rockets", "Group", ("Acme Corp", "Acme Rockets"))
    graph_store.write_documents([pinned, pinned2])
    acme = graph_store.get_entity("acme")
    assert acme is not None and acme.pinned
    assert (acme.name, acme.type) == ("Acme Rockets", "Group")
    assert set(acme.aliases) == {"Acme Corp", "Acme Rockets"}  # the removed surface is no name of it any more
    assert ("acme rockets", "acme") in graph_store.entity_keys()
    assert ("acme", "acme") not in graph_store.entity_keys()
    assert graph_store.entity_names(["acme"]) == {"acme": "Acme Rockets"}
    # removing a document does not re-derive a pinned name from the remaining surfaces
    graph_store.delete_document("d1")
    acme = graph_store.get_entity("acme")
    assert acme is not None and (acme.name, acme.type, acme.pinned) == ("Acme Rockets", "Group", True)
    # mentions stay where they were: the entity is still supported by d2
    assert [m.surface for m in graph_store.mentions_of("acme")] == ["Acme", "Acme"]


def test_unpinned_entities_keep_the_derived_name(graph_store: GraphStore) -> None:
    graph_store.write_documents([d1()])
    renamed = replace(d2(), entities=tuple(replace(e, name="Other") if e.id == "acme" else e
                                           for e in d2().entities))
    graph_store.write_documents([renamed])
    acme = graph_store.get_entity("acme")
    assert acme is not None and acme.name == "Acme Corp" and not acme.pinned
    assert isinstance(acme, Entity)


def test_names_and_types_do_not_depend_on_write_order(graph_store: GraphStore) -> None:
    def state() -> dict[str, tuple[str, str]]:
        out = {}
        for eid in ("acme", "alice", "paris", "rocket", "bob"):
            e = graph_store.get_entity(eid)
            assert e is not None
            out[eid] = (e.name, e.type)
        return out

    graph_store.write_documents([d1()])
    graph_store.write_documents([d2()])
    forward = state()
    assert forward["paris"] == ("Paris", "Location")  # a type beats 'Thing' whichever came first
    graph_store.delete_document("d1")
    graph_store.delete_document("d2")
    graph_store.write_documents([d2()])
    graph_store.write_documents([d1()])
    assert state() == forward
