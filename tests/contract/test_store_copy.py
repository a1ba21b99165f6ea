"""Copying a store through the ports (what backup and restore do), for every graph+vector combination: the copy
holds the same rows and vectors, in every vector space; and a backup's write hold pauses writers, not readers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from graph.copy import compare, compare_vectors
from graph.ledger import LedgeredKnowledgeStore
from graph.ontology import Ontology
from graph.spaces import Space, SpaceRecord, save_spaces
from graph.store import open_store, open_vector_space
from service.store_copy import transfer
from tests.contract import bundles as b
from tests.contract.conftest import StoreFactory

SPACE = "v0123456789ab"


def _fill(store_settings: Settings, open_knowledge_store: StoreFactory) -> None:
    store = open_knowledge_store()
    docs = [b.d1(), b.d2(), b.d3()]
    ids = b.entity_ids(*docs)
    store.write(docs, ids, b.entity_vectors(ids))
    store.write([b.d1_v2()])  # a replaced document: names and support derived from what is left
    store.graph.save_curation_rules({"edit:acme": '{"name": "ACME Corporation"}'})
    save_spaces(store.graph, SpaceRecord("", None, {"": Space("a", "1" * 64, b.DIM),
                                                    SPACE: Space("b", "0123456789ab" + "0" * 52, b.DIM)}))
    other = open_vector_space(store_settings, SPACE)
    try:
        flipped = [b.d1_v2(), b.d2(), b.d3()]
        other.write_documents([type(x)(x.document, x.chunks, x.entities, x.mentions, x.relations,
                                       -np.asarray(x.chunk_vectors)) for x in flipped])
        other.upsert_entities(ids[:3], -b.entity_vectors(ids[:3]))
    finally:
        other.close()


def test_copy_to_embedded_and_back(store_settings: Settings, open_knowledge_store: StoreFactory, ontology: Ontology,
                                   tmp_path: Path) -> None:
    _fill(store_settings, open_knowledge_store)
    embedded = store_settings.model_copy(update={"data_dir": tmp_path / "copy", "graph_store": "embedded",
                                                 "vector_store": "embedded"})
    transfer(store_settings, embedded, ontology, "to embedded")
    back = store_settings.model_copy(update={
        "data_dir": tmp_path / "back", "weaviate_collection_prefix": store_settings.weaviate_collection_prefix + "B",
        "neo4j_label_prefix": store_settings.neo4j_label_prefix + "B"})
    try:
        transfer(embedded, back, ontology, "back")
        source, copy = open_store(store_settings, ontology), open_store(back, ontology)
        try:
            assert compare(source.graph.snapshot(), copy.graph.snapshot()) == []
            assert compare_vectors(source.vectors, copy.vectors) == []
            assert copy.graph.curation_rules() == {"edit:acme": '{"name": "ACME Corporation"}'}
            assert copy.graph.model_stamp("vector_spaces") == source.graph.model_stamp("vector_spaces")
            a, z = open_vector_space(store_settings, SPACE), open_vector_space(back, SPACE)
            try:
                assert compare_vectors(a, z) == []
                ids = sorted(a.entity_ids())
                assert len(ids) == 3 and all(np.array_equal(a.entity_vectors(ids)[i], z.entity_vectors(ids)[i])
                                             for i in ids)
            finally:
                a.close()
                z.close()
        finally:
            source.close()
            copy.close()
    finally:
        from graph.store import drop_server_data

        drop_server_data(back)


@pytest.mark.parametrize("store_settings", ["neo4j+weaviate", "embedded+weaviate", "neo4j+embedded"], indirect=True)
def test_write_hold_pauses_writers(store_settings: Settings, open_knowledge_store: StoreFactory) -> None:
    """(One SQLite file needs no hold: its backup is SQLite's online backup, one read transaction.)"""
    reader, writer = open_knowledge_store(), open_knowledge_store()
    assert isinstance(reader, LedgeredKnowledgeStore)
    wrote = threading.Event()
    with reader.writes_held(30):
        thread = threading.Thread(target=lambda: (writer.write([b.d3()]), wrote.set()), daemon=True)
        thread.start()
        time.sleep(1.0)
        assert not wrote.is_set()  # paused
        assert reader.graph.stats().documents == 0  # and nothing of it is visible
    thread.join(30)
    assert wrote.is_set() and reader.graph.stats().documents == 1
