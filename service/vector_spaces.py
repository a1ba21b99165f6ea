"""Which embedder a store's queries need, and the other vector spaces ingest keeps current.

A store that went through an embedding migration (:mod:`service.embedding_migration`) records
its vector spaces (:mod:`graph.spaces`): the active space names the model its queries must be
embedded with, whatever ``embedding_model`` says (that setting names the model of new stores and
the default before any migration). Every other live space is written by ingest too, with its own
model (:class:`Mirrors`), so that a migration in progress sees new documents and a rollback
finds the previous space current.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.errors import ConfigError
from core.settings import Settings
from graph.knowledge import KnowledgeStore
from graph.ports import VectorStore
from graph.spaces import ORIGINAL, Space, SpaceRecord, load_spaces
from graph.store import open_vector_space
from inference.embedder import Embedder, load_embedder


class Embedders:
    """Embedding models by name, each loaded once; the settings' own model comes from ``default``."""

    def __init__(self, settings: Settings, default: Callable[[], Embedder],
                 load: Callable[[Settings], Embedder] = load_embedder) -> None:
        self._settings = settings
        self._default = default
        self._load = load
        self._lock = threading.Lock()
        self._loaded: dict[str, Embedder] = {}

    def named(self, name: str) -> Embedder:
        """The embedding model ``name`` (a packaged name or a path).

        Raises:
            ConfigError, ModelError: it cannot be found or loaded.
        """
        if name == self._settings.embedding_model:
            return self._default()
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(self._settings.model_copy(update={"embedding_model": name}))
            return self._loaded[name]

    def for_space(self, space: Space) -> Embedder:
        """The model of ``space``, checked against the checksum the space records.

        Raises:
            ConfigError: the model under that name is not the one the space was built with.
            ModelError: it cannot be loaded.
        """
        embedder = self.named(space.name)
        if (embedder.identity.checksum, embedder.identity.dimension) != (space.checksum, space.dimension):
            raise ConfigError(
                f"the vectors in use were built with {space.name!r} (sha256 {space.checksum[:12]}, {space.dimension} "
                f"dimensions) but that model is now {embedder.identity.describe()}: restore that model, or migrate "
                "to the new one ('hopgraph models migrate-embeddings')")
        return embedder

    def of_store(self, store: KnowledgeStore) -> Embedder:
        """The model the store's queries must be embedded with: its active space's, else the settings' own.

        Raises:
            ConfigError, ModelError: as :meth:`for_space`.
            StoreError: the store cannot be read.
        """
        record = load_spaces(store.graph)
        if record is None or record.active not in record.spaces:
            return self._default()
        return self.for_space(record.spaces[record.active])


class Mirrors:
    """The store's other live vector spaces, opened once each, with their models (asked once per ingest batch)."""

    def __init__(self, settings: Settings, store: KnowledgeStore, embedders: Embedders) -> None:
        self._settings = settings
        self._store = store
        self._embedders = embedders
        self._lock = threading.Lock()
        self._open: dict[str, VectorStore] = {}

    def __call__(self) -> list[tuple[VectorStore, Embedder]]:
        """Every live space but the one the store writes itself, each with its model.

        Raises:
            ConfigError, ModelError: a space's model cannot be loaded.
            StoreUnavailableError, StoreError: a space cannot be opened.
        """
        record = load_spaces(self._store.graph)
        own = self._store.vectors.space
        wanted = [] if record is None else [s for s in record.live() if s != own and s in record.spaces]
        with self._lock:
            for name in [s for s in self._open if s not in wanted]:
                self._open.pop(name).close()
            for name in wanted:
                if name not in self._open:
                    self._open[name] = open_vector_space(self._settings, name)
            opened = [(self._open[s], record.spaces[s]) for s in wanted] if record is not None else []
        return [(vectors, self._embedders.for_space(space)) for vectors, space in opened]

    def close(self) -> None:
        """Close the spaces opened."""
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for vectors in opened:
            vectors.close()


def describe_spaces(store: KnowledgeStore) -> SpaceRecord:
    """The store's space record; for a store never migrated, one listing its original space (its recorded
    embedder, if any).

    Raises:
        StoreError: the store cannot be read.
    """
    from service.model_stamps import built_with

    record = load_spaces(store.graph)
    if record is not None:
        return record
    built = built_with(store)
    spaces = {ORIGINAL: Space(built.name, built.checksum, built.dimension)} if built is not None else {}
    return SpaceRecord(ORIGINAL, None, spaces)
