"""Per-collection stores, retrievers and answerers around models shared by every collection.

The server loads the embedder, the LLM and the ontology once (:class:`SharedModels`)
and opens a collection's store the first time a request names it
(:class:`CollectionRegistry`). Everything here is blocking: call it from worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from core.errors import HopgraphError
from core.settings import Settings
from graph.access import EVERYONE, Viewer
from graph.knowledge import KnowledgeStore
from graph.ontology import Ontology, load_ontology
from graph.ports import GraphStore
from graph.spaces import active_space
from graph.store import open_store
from inference.chat import ChatModel
from inference.embedder import Embedder, load_embedder
from inference.llm import load_llm
from inference.registry import model_cache, resolve_llm
from inference.remote_llm import EndpointReport, RemoteLLM
from retrieval.answer import Answerer
from retrieval.chain import ChainReader
from retrieval.graph_index import GraphIndex
from retrieval.linking import EntityLinker
from retrieval.retriever import Retriever
from service import collections, heap, model_stamps
from service.drift import GoldenCentroid
from service.entity_cache import CachedEntities
from service.model_registry import reader_settings
from service.server_state import open_server_db
from service.serverdb import ServerDB
from service.vector_spaces import Embedders
from service.views import Reading, Views

log = logging.getLogger("hopgraph.api")
READER_CHECK_S = 3.0  # how often a server looks for a promoted or rolled-back reader
SPACE_CHECK_S = 3.0  # how often an open collection looks for a switched vector space (a migration, a rollback)
MODEL_LOAD_LOCK = threading.Lock()
"""Held while a model loads: two threads importing and exporting the same model at once (the first ONNX
export of the embedder, lazily imported libraries) is not safe."""


def reader_path(settings: Settings, reader: str) -> Path:
    """The GGUF file of ``reader`` (a packaged reader's name or alias, or a path), assembled into the model cache
    and verified when it is a packaged one.

    Raises:
        ConfigError, ChecksumMismatchError, ModelError: see :func:`inference.registry.resolve_llm`.
    """
    return resolve_llm(reader, None, model_cache(settings))


def _load_query_embedder(settings: Settings) -> Embedder:
    # one intra-op thread: a question is one short text, and concurrency comes from query threads
    with MODEL_LOAD_LOCK:
        return load_embedder(settings.model_copy(update={"threads": 1}))


class SharedModels:
    """The ontology, embedder, LLM and question-phrase finder of one server process, each loaded once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._ontology: Ontology | None = None
        self._embedder: Embedder | None = None
        self._llm: ChatModel | None = None
        self._llm_model = ""  # the llm_model it was loaded as
        self._llm_checked = float("-inf")
        self._db: ServerDB | None = None  # where the promoted reader is read from: opened once, kept for the process
        self._phrases: Callable[[str], list[str]] | None = None
        self.embedders = Embedders(settings, lambda: self.embedder, _load_query_embedder)
        """Other embedding models, for collections whose vectors were migrated to one."""

    @property
    def ontology(self) -> Ontology:
        """The ontology in force (raises OntologyError when invalid)."""
        with self._lock:
            if self._ontology is None:
                self._ontology = load_ontology(self.settings.ontology_path)
            return self._ontology

    @property
    def embedder(self) -> Embedder:
        """The query embedder (ConfigError/ModelError when it cannot be loaded)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = _load_query_embedder(self.settings)
            return self._embedder

    @property
    def llm(self) -> ChatModel:
        """The local LLM, loaded on first use; a reader promoted or rolled back (``hopgraph models``) replaces it
        within :data:`READER_CHECK_S` seconds. Answers already running finish on the model they started with."""
        with self._lock:
            now = time.monotonic()
            if self._llm is None or now - self._llm_checked > READER_CHECK_S:
                self._llm_checked = now
                if self._db is None:
                    self._db = open_server_db(self.settings)
                wanted = reader_settings(self.settings, self._db)
                if self._llm is None or wanted.llm_model != self._llm_model:
                    with MODEL_LOAD_LOCK:
                        self._llm = load_llm(wanted)
                    if self._llm_model:
                        log.info("reader changed to %s", wanted.llm_model)
                    self._llm_model = wanted.llm_model
            return self._llm

    def reader_endpoints(self) -> list[EndpointReport] | None:
        """Each reader server's state (url, up, requests, failures, last_error) when the reader runs on servers
        (``llm_backend = openai``) and has been set up; else None."""
        llm = self._llm
        return llm.pool.snapshot() if isinstance(llm, RemoteLLM) else None

    def reader_name(self) -> str:
        """The file name of the reader loaded now ("" before one is)."""
        llm = self._llm
        return llm.name if llm is not None else ""

    @property
    def phrases(self) -> Callable[[str], list[str]] | None:
        """spaCy question phrases when ``question_ner = spacy``, else None (capitalised spans)."""
        if self.settings.question_ner != "spacy":
            return None
        with self._lock:
            if self._phrases is None:
                from extraction.nlp import load_spacy

                nlp = load_spacy(self.settings.spacy_model)
                lock = threading.Lock()

                def phrases(question: str) -> list[str]:
                    with lock:
                        return [ent.text for ent in nlp(question).ents]

                self._phrases = phrases
            return self._phrases

    def loaded(self) -> bool:
        """True when the embedder and the LLM are loaded."""
        return self._embedder is not None and self._llm is not None

    def preload(self) -> None:
        """Load the models now (blocking).

        Raises:
            ConfigError, ModelError, OntologyError: a model cannot be loaded.
        """
        _ = self.ontology, self.embedder, self.phrases, self.llm


class ServingRetriever(Retriever):
    """A retriever that keeps answering from its current graph index while a newer one is built.

    The base retriever rebuilds its index under its lock when the store changes, so every
    query waits for the rebuild; during a long ingest that happens after every batch. Here
    the rebuild runs in a background thread and is swapped in when done (the dense and
    keyword searches are always current; passages of deleted chunks are skipped).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._refreshing = False
        self._settled = False

    def _indexes(self) -> tuple[GraphIndex, EntityLinker]:
        with self._lock:
            index, linker = self._index, self._linker
        if index is None or linker is None:
            built = super()._indexes()
            with self._lock:  # the first index of the collection is long-lived: keep it out of full collections
                settle, self._settled = not self._settled, True
            if settle:  # once, however many queries waited for the first build
                heap.settle()
            return built
        if index.version != self._store.graph.version():
            with self._lock:
                start, self._refreshing = not self._refreshing, True
            if start:
                threading.Thread(target=self._refresh, name="hopgraph-index", daemon=True).start()
        return index, linker

    def _refresh(self) -> None:
        try:
            graph = self._store.graph
            version = graph.version()
            index = GraphIndex(graph.mention_pairs(), graph.relation_pairs(), version)
            linker = EntityLinker(graph.entity_keys(), self._ontology.aliases)
            with self._lock:
                self._index, self._linker = index, linker
        except HopgraphError as exc:  # keep serving the previous index; the next query tries again
            log.warning("graph index refresh failed: %s", exc)
        finally:
            with self._lock:
                self._refreshing = False


def _ontology_stamp(settings: Settings, name: str) -> float:
    """Changes when the collection's own ontology file is replaced (0 when it has none)."""
    try:
        return (collections.directory(settings, name) / "ontology.yaml").stat().st_mtime_ns
    except FileNotFoundError:
        return 0.0


def _directory_id(settings: Settings, name: str) -> int:
    """Changes when the collection's directory is replaced (a restore renames a new one into place); 0 if none."""
    try:
        return collections.directory(settings, name).stat().st_ino
    except FileNotFoundError:
        return 0


class Collection:
    """One open collection: its store, retriever and answerer."""

    def __init__(self, name: str, settings: Settings, store: KnowledgeStore, models: SharedModels,
                 ontology: Ontology, stamp: float) -> None:
        self.name = name
        self.settings = settings
        self.store = store
        self.ontology = ontology
        self.stamp = stamp
        self.directory_id = 0  # the registry sets it: the directory it was opened from (see _directory_id)
        self.space = store.vectors.space  # the vector space it answers from: reopened when another is switched in
        self._space_checked = time.monotonic()
        self._space_stale = False
        embedder = models.embedders.of_store(store)
        model_stamps.check_embedder(store, embedder.identity)  # ConfigError: built with another model
        self.retriever = ServingRetriever(store, embedder, ontology, phrases=models.phrases)
        # the answerer reads entities through a cache (it never writes through this view)
        cached = KnowledgeStore(cast(GraphStore, CachedEntities(store.graph)), store.vectors)
        self.answerer = Answerer(cached, llm_factory=lambda: models.llm, chains=ChainReader(ontology),
                                retrieve=self.retriever.retrieve)
        golden = GoldenCentroid(settings.data_dir / "golden.json", embedder)
        self.views = Views(store, embedder, ontology, models.phrases, lambda: models.llm,
                           Reading(EVERYONE, store, self.retriever, self.answerer, golden))

    def space_current(self) -> bool:
        """False once a migration or rollback switched the store to another vector space (read at most every
        :data:`SPACE_CHECK_S` seconds; a store that cannot be read counts as current until it can)."""
        now = time.monotonic()
        if self._space_stale or now - self._space_checked < SPACE_CHECK_S:
            return not self._space_stale
        self._space_checked = now
        try:
            self._space_stale = active_space(self.store.graph) != self.space  # once stale, for good
        except HopgraphError as exc:
            log.warning("cannot read the vector space of collection %s: %s", self.name, exc)
        return not self._space_stale

    def reading(self, viewer: Viewer) -> Reading:
        """What ``viewer`` reads this collection through."""
        return self.views.reading(viewer)

    def close(self) -> None:
        """Close the store."""
        self.store.close()


class CollectionRegistry:
    """Opens each collection once, on first use, and closes them all at shutdown."""

    def __init__(self, settings: Settings, models: SharedModels) -> None:
        self.settings = settings
        self.models = models
        self._lock = threading.Lock()
        self._open: dict[str, Collection] = {}

    def get(self, name: str) -> Collection:
        """The open collection ``name``, opening it if needed.

        Raises:
            NotFoundError: no such collection.
            StoreError: its store cannot be opened.
        """
        with self._lock:
            found = self._open.get(name)
            if found is not None and self._current(found):
                return found
            if found is not None:  # deleted or given a new ontology (perhaps by another process): reopen;
                del self._open[name]  # requests still using the old one finish with it (closed when collected)
            collections.require(self.settings, name)
            directory_id = _directory_id(self.settings, name)
            stamp = _ontology_stamp(self.settings, name)
            csettings = collections.collection_settings(self.settings, name)
            ontology = self.models.ontology if stamp == 0.0 else load_ontology(csettings.ontology_path)
            store = open_store(csettings, ontology)
            try:
                found = Collection(name, csettings, store, self.models, ontology, stamp)
            except BaseException:
                store.close()
                raise
            found.directory_id = directory_id
            self._open[name] = found
            return found

    def _current(self, found: Collection) -> bool:
        return (_directory_id(self.settings, found.name) == found.directory_id
                and _ontology_stamp(self.settings, found.name) == found.stamp and found.space_current())

    def peek(self, name: str) -> Collection | None:
        """The collection if it is open, exists and has the same ontology and vector space (no lock; two ``stat``
        calls and, every few seconds, one store read, so the HTTP face runs it in a worker thread)."""
        found = self._open.get(name)
        return found if found is not None and self._current(found) else None

    def opened(self) -> list[Collection]:
        """The collections open now."""
        with self._lock:
            return list(self._open.values())

    def close(self, name: str) -> None:
        """Close one collection if it is open."""
        with self._lock:
            found = self._open.pop(name, None)
        if found is not None:
            found.close()

    def close_all(self) -> None:
        """Close every open collection."""
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for c in opened:
            c.close()
