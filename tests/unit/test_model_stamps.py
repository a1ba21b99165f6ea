"""A store records the embedding model that built its vectors and refuses another (real embedded stores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings
from graph.ontology import Ontology
from graph.store import open_store
from inference.embedder import Embedder
from inference.identity import EmbedderIdentity
from service import model_stamps


def test_the_first_embedder_is_recorded_and_another_refused(settings: Settings, ontology: Ontology,
                                                            embedder: Embedder) -> None:
    store = open_store(settings, ontology)
    try:
        model_stamps.check_embedder(store, embedder.identity)
        assert model_stamps.built_with(store) == embedder.identity
        model_stamps.check_embedder(store, embedder.identity)  # the same model again: fine
        renamed = EmbedderIdentity("/models/copy-of-minilm", embedder.identity.checksum, embedder.identity.dimension)
        model_stamps.check_embedder(store, renamed)  # the same weights under another path: the same space
        other = EmbedderIdentity("bge-small", "f" * 64, 384)
        with pytest.raises(ConfigError, match="built with the embedding model 'all-MiniLM-L6-v2'") as err:
            model_stamps.check_embedder(store, other)
        assert "bge-small" in str(err.value) and "migrate-embeddings" in str(err.value)
        assert json.loads(store.graph.model_stamp("embedder") or "{}")["checksum"] == embedder.identity.checksum
    finally:
        store.close()


def test_a_store_reopened_keeps_its_record(settings: Settings, ontology: Ontology, embedder: Embedder) -> None:
    store = open_store(settings, ontology)
    model_stamps.check_embedder(store, embedder.identity)
    store.close()
    again = open_store(settings, ontology)
    try:
        with pytest.raises(ConfigError):
            model_stamps.check_embedder(again, EmbedderIdentity("x", "0" * 64, 768))
    finally:
        again.close()


def test_embedder_identity_is_its_weights(embedder: Embedder, tmp_path: Path) -> None:
    ident = embedder.identity
    assert ident.dimension == embedder.dimension == 384 and len(ident.checksum) == 64
    assert ident.same_space(EmbedderIdentity("elsewhere", ident.checksum, 384))
    assert not ident.same_space(EmbedderIdentity(ident.name, ident.checksum, 768))


def test_a_changed_spacy_pipeline_is_recorded_and_reported(settings: Settings, ontology: Ontology) -> None:
    store = open_store(settings, ontology)
    try:
        assert model_stamps.check_pipeline(store, "en_core_web_sm", "3.8.0") is None
        assert model_stamps.check_pipeline(store, "en_core_web_sm", "3.8.0") is None
        warning = model_stamps.check_pipeline(store, "en_core_web_md", "3.8.0")
        assert warning is not None and "en_core_web_sm 3.8.0" in warning and "hopgraph reextract" in warning
        assert model_stamps.check_pipeline(store, "en_core_web_md", "3.8.0") is None  # said once per change
    finally:
        store.close()
