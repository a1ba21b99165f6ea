"""What one viewer reads through: the store, a retriever and an answerer restricted to its documents.

A viewer who sees every document reads through the collection's own objects. Any other
viewer gets a read-only view (:mod:`graph.visible`) with its own retriever (graph index,
entity linker) and answerer, built from the documents it may see alone; the most
recently used views are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from graph.access import Viewer
from graph.knowledge import KnowledgeStore
from graph.ontology import Ontology
from graph.visible.graph_store import SnapshotCache
from graph.visible.store import visible_store
from inference.chat import ChatModel
from inference.embedder import Embedder
from retrieval.answer import Answerer
from retrieval.chain import ChainReader
from retrieval.retriever import Retriever
from service.drift import GoldenCentroid

VIEWS_KEPT = 16


@dataclass(frozen=True, slots=True)
class Reading:
    """The objects a viewer's reads go through."""

    viewer: Viewer
    store: KnowledgeStore
    retriever: Retriever
    answerer: Answerer
    golden: GoldenCentroid | None = None  # the collection's golden centroid (query drift), when it is served


class Views:
    """One collection's readings, per viewer."""

    def __init__(self, store: KnowledgeStore, embedder: Embedder, ontology: Ontology,
                 phrases: Callable[[str], list[str]] | None, llm_factory: Callable[[], ChatModel],
                 everyone: Reading) -> None:
        self._store = store
        self._embedder = embedder
        self._ontology = ontology
        self._phrases = phrases
        self._llm_factory = llm_factory
        self._everyone = everyone
        self._cache = SnapshotCache(store.graph)
        self._lock = threading.Lock()
        self._views: OrderedDict[str, Reading] = OrderedDict()

    def reading(self, viewer: Viewer) -> Reading:
        """The reading for ``viewer`` (the collection's own when it sees everything)."""
        if viewer.sees_everything:
            return self._everyone
        with self._lock:
            found = self._views.get(viewer.key)
            if found is not None:
                self._views.move_to_end(viewer.key)
                return found
            store = visible_store(self._store, self._cache, viewer, self._ontology.aliases)
            retriever = Retriever(store, self._embedder, self._ontology, phrases=self._phrases)
            answerer = Answerer(store, llm_factory=self._llm_factory, chains=ChainReader(self._ontology),
                                retrieve=retriever.retrieve)
            made = Reading(viewer, store, retriever, answerer, self._everyone.golden)
            self._views[viewer.key] = made
            while len(self._views) > VIEWS_KEPT:
                self._views.popitem(last=False)
            return made
