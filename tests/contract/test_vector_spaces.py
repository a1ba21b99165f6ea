"""Vector spaces (graph/spaces.py) on every graph+vector combination: a space's vectors live apart from the
active one's, the store opens on the space its record names, a switch is one record write, and dropping a
space (or the store's server data) removes exactly it."""

from __future__ import annotations

from core.settings import Settings
from graph.knowledge import KnowledgeStore
from graph.spaces import ORIGINAL, Space, SpaceRecord, active_space, load_spaces, save_spaces, space_id
from graph.store import open_vector_space

from .bundles import d1, d2, entity_ids, entity_vectors, unit_vector
from .conftest import StoreFactory
from .test_knowledge_store import write

SPACE = space_id("0123456789abcdef" * 4)


def test_a_space_is_apart_and_the_store_opens_on_the_active_one(open_knowledge_store: StoreFactory,
                                                                 store_settings: Settings) -> None:
    store = open_knowledge_store()
    write(store, d1(), d2())
    before = store.vectors.chunk_docs()
    assert set(before.values()) == {"d1", "d2"} and store.vectors.space == ORIGINAL
    assert store.vectors.entity_ids() == set(entity_ids(d1(), d2()))

    other = open_vector_space(store_settings, SPACE)
    try:
        assert other.chunk_docs() == {} and other.entity_ids() == set()
        other.write_documents([d1()])
        ids = entity_ids(d1())
        other.upsert_entities(ids, entity_vectors(ids))
        assert set(other.chunk_docs().values()) == {"d1"}
        assert other.entity_ids() == set(ids)
        word = d1().chunks[0].text.split()[0]
        assert {h.doc_id for h in other.keyword_search(word, 10)} <= {"d1"}
    finally:
        other.close()
    assert store.vectors.chunk_docs() == before  # the active space did not change

    record = SpaceRecord(SPACE, ORIGINAL, {ORIGINAL: Space("a", "x" * 64, 8), SPACE: Space("b", "y" * 64, 8)})
    save_spaces(store.graph, record)
    assert load_spaces(store.graph) == record and active_space(store.graph) == SPACE
    reopened = open_knowledge_store()
    assert reopened.vectors.space == SPACE
    assert set(reopened.vectors.chunk_docs().values()) == {"d1"}
    hit = reopened.vectors.search_chunks(d1().chunk_vectors[0], 1)[0]
    assert hit.doc_id == "d1" and hit.score > 0.999


def test_drop_removes_the_space_alone(knowledge_store: KnowledgeStore, store_settings: Settings) -> None:
    write(knowledge_store, d1())
    other = open_vector_space(store_settings, SPACE)
    other.write_documents([d2()])
    other.drop()
    other.close()
    again = open_vector_space(store_settings, SPACE)  # created anew, empty
    try:
        assert again.chunk_docs() == {}
        assert again.search_chunks(unit_vector("anything"), 5) == []
    finally:
        again.close()
    assert set(knowledge_store.vectors.chunk_docs().values()) == {"d1"}
