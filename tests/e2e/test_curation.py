"""Curation end to end on real models and both profiles: edit, merge and split change the graph,
re-ingesting a changed document keeps them, and a fresh ingest under the same curation records
gives exactly the same graph."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from extraction.curation import CurationChange, Curator, apply_change
from extraction.nlp import NlpRunner
from graph.knowledge import KnowledgeStore
from graph.ontology import Ontology
from graph.store import open_store
from inference.embedder import Embedder
from service.collections import build_pipeline
from service.vector_spaces import Embedders
from tests.conftest import SAMPLES
from tests.contract.conftest import neo4j_available, weaviate_available  # noqa: F401 - fixtures for the server profile


def _server(settings: Settings, data_dir: Path) -> Settings:
    from tests.contract.conftest import server_settings, unique_prefix

    return server_settings(data_dir, model_cache_dir=settings.model_cache_dir, graph_store="neo4j",
                           vector_store="weaviate", weaviate_collection_prefix=unique_prefix())


@pytest.fixture(params=["embedded", "server"])
def profiles(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, Settings]]:
    """Settings of two empty stores (curated, fresh) of one profile."""
    if request.param == "embedded":
        yield (settings.model_copy(update={"data_dir": tmp_path / "a"}),
               settings.model_copy(update={"data_dir": tmp_path / "b"}))
        return
    from graph.store import drop_graph_data, drop_vector_data

    request.getfixturevalue("neo4j_available")
    request.getfixturevalue("weaviate_available")
    first, second = _server(settings, tmp_path / "a"), _server(settings, tmp_path / "b")
    drop_graph_data(first)
    yield first, second
    for s in (first, second):
        drop_vector_data(s)
    drop_graph_data(first)


def _view(store: KnowledgeStore) -> dict[str, Any]:
    """Everything a reader sees of the graph, comparable across stores."""
    g = store.graph
    ids = sorted({e for _, _, e in g.mention_pairs()})
    entities = {}
    for eid in ids:
        e = g.get_entity(eid)
        assert e is not None
        entities[eid] = (e.name, e.type, frozenset(e.aliases), e.pinned, e.description)
    return {"entities": entities, "mentions": set(g.mention_pairs()), "relations": set(g.relation_pairs()),
            "keys": set(g.entity_keys()), "unembedded": store.vectors.missing_entities(ids)}


def _apply(store: KnowledgeStore, pipeline: Any, curator: Curator, change: CurationChange) -> None:
    curator.save(change)
    apply_change(pipeline, store.graph, change.entities, change.reembed)


def _find(store: KnowledgeStore, name: str) -> str:
    hits = store.graph.search_entities(name, 1)
    assert hits and hits[0].score == 1.0, name
    return hits[0].entity_id


def test_curation_survives_reingest_and_equals_a_fresh_ingest(
    profiles: tuple[Settings, Settings], tmp_path: Path, nlp: NlpRunner, embedder: Embedder, ontology: Ontology
) -> None:
    curated_settings, fresh_settings = profiles
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLES, corpus)
    store = open_store(curated_settings, ontology)
    try:
        pipeline = build_pipeline(curated_settings, store, nlp, Embedders(curated_settings, lambda: embedder))
        assert pipeline.run([corpus]).ok
        g, curator = store.graph, Curator(store.graph, ontology)
        pakka, tampere, pirkanmaa = _find(store, "Pakka"), _find(store, "Tampere"), _find(store, "Pirkanmaa")
        corvel = _find(store, "Corvel Robotics")

        _apply(store, pipeline, curator, curator.edit(pakka, name="Pakka Sorter", type="Product",
                                                      add_aliases=["Pakka 2"]))
        edited = g.get_entity(pakka)
        assert edited is not None and (edited.name, edited.type, edited.pinned) == ("Pakka Sorter", "Product", True)
        assert _find(store, "Pakka 2") == pakka and _find(store, "Pakka") == pakka
        assert store.vectors.missing_entities([pakka]) == set()

        _apply(store, pipeline, curator, curator.merge([pirkanmaa], tampere))
        assert g.get_entity(pirkanmaa) is None
        assert store.vectors.missing_entities([pirkanmaa]) == {pirkanmaa}  # its vector went with it
        merged = g.get_entity(tampere)
        assert merged is not None and "Pirkanmaa" in merged.aliases and _find(store, "Pirkanmaa") == tampere

        corvel_docs = g.entity_documents([corvel])
        assert len(corvel_docs) >= 2
        moved = corvel_docs[:1]
        split = curator.split(corvel, name="Corvel Robotics Oy", documents=moved)
        _apply(store, pipeline, curator, split)
        new_id = split.after["id"]
        assert g.entity_documents([new_id]) == moved
        assert g.entity_documents([corvel]) == corvel_docs[1:]
        assert store.vectors.missing_entities([new_id]) == set()

        # a changed document mentioning the curated entities is ingested again: nothing is undone
        changed = corpus / "corvel_robotics.md"
        changed.write_text(changed.read_text() + "\n\nIn 2024 Pakka shipped to Pirkanmaa again.\n")
        assert pipeline.run([corpus]).documents >= 1
        again = g.get_entity(pakka)
        assert again is not None and (again.name, again.type) == ("Pakka Sorter", "Product")
        assert g.get_entity(pirkanmaa) is None
        curated_view, rules = _view(store), g.curation_rules()

        # reverting every record gives the graph of a plain ingest
        while records := curator.records():
            _apply(store, pipeline, curator, curator.revert(records[-1]["key"]))
        reverted_view = _view(store)
        assert g.get_entity(pirkanmaa) is not None
    finally:
        store.close()

    # a fresh store given the same records and the same corpus holds the same graph; with none, the reverted one
    assert _fresh_view(fresh_settings, ontology, nlp, embedder, corpus, rules) == curated_view
    assert _fresh_view(fresh_settings, ontology, nlp, embedder, corpus, {}) == reverted_view


def _fresh_view(settings: Settings, ontology: Ontology, nlp: NlpRunner, embedder: Embedder, corpus: Path,
                rules: dict[str, str]) -> dict[str, Any]:
    """The view of a new store that is given ``rules`` and then ingests ``corpus``."""
    if settings.graph_store == "neo4j":  # one Neo4j database (Community): empty it first
        from graph.store import drop_graph_data, drop_vector_data

        drop_graph_data(settings)
        drop_vector_data(settings)
    else:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    fresh = open_store(settings, ontology)
    try:
        fresh.graph.save_curation_rules(dict(rules))
        assert build_pipeline(settings, fresh, nlp, Embedders(settings, lambda: embedder)).run([corpus]).ok
        return _view(fresh)
    finally:
        fresh.close()
