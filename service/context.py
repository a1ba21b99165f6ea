"""Assembles the running system from settings: ontology, store, models, pipeline.

Models are loaded lazily and once; the store is opened on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from core.settings import Settings
from extraction.nlp import NlpRunner
from extraction.pipeline import IngestPipeline
from graph.access import EVERYONE, Viewer
from graph.knowledge import KnowledgeStore
from graph.ontology import Ontology, load_ontology
from graph.store import open_store
from inference.chat import ChatModel
from inference.embedder import Embedder, load_embedder
from inference.llm import load_llm
from retrieval.answer import Answerer
from retrieval.chain import ChainReader
from retrieval.retriever import Retriever
from service import collections, model_stamps
from service.model_registry import reader_settings
from service.server_state import open_server_db
from service.vector_spaces import Embedders
from service.views import Reading, Views


class AppContext:
    """Everything a command needs, created on demand from one Settings object."""

    def __init__(self, settings: Settings, viewer: Viewer = EVERYONE) -> None:
        self.settings = settings
        self.viewer = viewer

    @cached_property
    def ontology(self) -> Ontology:
        """The ontology in force."""
        return load_ontology(self.settings.ontology_path)

    @cached_property
    def store(self) -> KnowledgeStore:
        """The opened knowledge store."""
        return open_store(self.settings, self.ontology)

    @cached_property
    def embedder(self) -> Embedder:
        """The sentence embedder (loaded once)."""
        return load_embedder(self.settings)

    @cached_property
    def nlp(self) -> NlpRunner:
        """The spaCy stage, in a worker process when more than one thread is allowed."""
        runner = NlpRunner(self.settings.spacy_model, self.ontology, processes=1 if self.settings.threads > 1 else 0)
        runner.start()
        return runner

    @cached_property
    def phrases(self) -> Callable[[str], list[str]] | None:
        """The question's entity phrases (spaCy NER), or None for capitalised spans."""
        if self.settings.question_ner != "spacy":
            return None
        from extraction.nlp import load_spacy

        nlp = load_spacy(self.settings.spacy_model)

        def phrases(question: str) -> list[str]:
            return [ent.text for ent in nlp(question).ents]

        return phrases

    @cached_property
    def embedders(self) -> Embedders:
        """Embedding models by name (the settings' own is :attr:`embedder`)."""
        return Embedders(self.settings, lambda: self.embedder)

    @cached_property
    def checked_embedder(self) -> Embedder:
        """The embedder of the store's vectors in use (its active vector space's model, else the settings'), once
        the store agreed it is the one that built (or will build) them.

        Raises:
            ConfigError: the store was built with another embedding model.
        """
        embedder = self.embedders.of_store(self.store)
        model_stamps.check_embedder(self.store, embedder.identity)
        return embedder

    @cached_property
    def retriever(self) -> Retriever:
        """The hybrid retriever over the store (every document)."""
        return Retriever(self.store, self.checked_embedder, self.ontology, phrases=self.phrases)

    @cached_property
    def llm(self) -> ChatModel:
        """The local LLM (loaded once, on first use): the promoted reader unless the settings name one."""
        db = open_server_db(self.settings)
        try:
            settings = reader_settings(self.settings, db)
        finally:
            db.close()
        return load_llm(settings)

    @cached_property
    def answerer(self) -> Answerer:
        """Cited answers, extractive or generated."""
        return Answerer(self.store, llm_factory=lambda: self.llm, chains=ChainReader(self.ontology),
                        retrieve=self.retriever.retrieve)

    @cached_property
    def views(self) -> Views:
        """The store, retriever and answerer per viewer."""
        return Views(self.store, self.checked_embedder, self.ontology, self.phrases, lambda: self.llm,
                     Reading(EVERYONE, self.store, self.retriever, self.answerer))

    @property
    def reading(self) -> Reading:
        """What this context's viewer reads through (the store itself when it sees every document)."""
        if self.viewer.sees_everything:
            return Reading(EVERYONE, self.store, self.retriever, self.answerer)
        return self.views.reading(self.viewer)

    def pipeline(self) -> IngestPipeline:
        """An ingest pipeline over the store and models (the same one an ingest job builds)."""
        return collections.build_pipeline(self.settings, self.store, self.nlp, self.embedders)

    def close(self) -> None:
        """Close the store if it was opened."""
        if "nlp" in self.__dict__:
            self.nlp.close()
        if "store" in self.__dict__:
            self.store.close()
