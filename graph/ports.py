"""Store ports. Every adapter implements them; one contract suite tests them all.

The ports are synchronous: the embedded adapter is in-process SQLite, and the
service layer runs store calls in worker threads so the event loop never blocks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from graph.model import (
    Chunk,
    Document,
    DocumentBundle,
    Entity,
    GraphSnapshot,
    Mention,
    Neighbour,
    Relation,
    RelationEvidence,
    ScoredChunk,
    ScoredEntity,
    StoreStats,
    TypeCensus,
)

Vector = npt.NDArray[np.float32]
MAX_KEYWORD_MATCHES = 10_000  # Weaviate's default QUERY_MAXIMUM_RESULTS


class GraphStore(ABC):
    """Documents, chunks, mentions, entities and relations, with per-document support."""

    @abstractmethod
    def write_documents(self, bundles: Sequence[DocumentBundle]) -> list[str]:
        """Insert or replace the documents of ``bundles`` with all they contribute.

        A document that already exists first loses its previous contribution.

        Returns:
            The ids of entities that lost their last support (replaced away) and were removed.

        Raises:
            StoreError: the write failed; nothing of it is visible.
        """

    @abstractmethod
    def delete_document(self, doc_id: str) -> list[str]:
        """Remove a document and what only it supported.

        Returns:
            The ids of the entities that lost their last support and were removed.

        Raises:
            NotFoundError: no such document.
        """

    @abstractmethod
    def document_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The stored sha256 of each known document among ``doc_ids``."""

    @abstractmethod
    def get_document(self, doc_id: str) -> Document | None:
        """The document, or None."""

    @abstractmethod
    def find_documents(self, key: str) -> list[Document]:
        """Documents whose id or source equals ``key``."""

    @abstractmethod
    def list_documents(self, offset: int = 0, limit: int = 100) -> list[Document]:
        """Documents ordered by id."""

    @abstractmethod
    def search_documents(self, text: str, offset: int = 0, limit: int = 100) -> tuple[list[Document], int]:
        """Documents whose title or source contains ``text`` (case-insensitive), ordered by id, a page of
        them, and how many match in all."""

    @abstractmethod
    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks that exist among ``chunk_ids``, in the order asked."""

    @abstractmethod
    def get_entity(self, entity_id: str) -> Entity | None:
        """The entity with its aliases and a description built from its mentions."""

    def entity_names(self, entity_ids: Sequence[str]) -> dict[str, str]:
        """Names of the stored entities among ``entity_ids`` (one round trip where the adapter can)."""
        out: dict[str, str] = {}
        for eid in entity_ids:
            ent = self.get_entity(eid)
            if ent is not None:
                out[eid] = ent.name
        return out

    def document_titles(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Titles of the stored documents among ``doc_ids`` (one round trip where the adapter can)."""
        out: dict[str, str] = {}
        for did in doc_ids:
            doc = self.get_document(did)
            if doc is not None:
                out[did] = doc.title
        return out

    @abstractmethod
    def existing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """Which of ``entity_ids`` are stored."""

    @abstractmethod
    def search_entities(self, name: str, limit: int = 10) -> list[ScoredEntity]:
        """Entities whose normalised name or alias matches ``name``.

        Exact key matches score 1.0, prefix/substring matches less.
        """

    @abstractmethod
    def neighbours(self, entity_id: str, limit: int = 50) -> list[Neighbour]:
        """Relations touching the entity, strongest first, with their evidence."""

    @abstractmethod
    def mentions_of(self, entity_id: str, limit: int = 50) -> list[Mention]:
        """Mentions of the entity."""

    @abstractmethod
    def chunk_entities(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        """Entity ids mentioned in each chunk."""

    @abstractmethod
    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        """Relations whose head and tail are both in ``entity_ids``, with evidence."""

    @abstractmethod
    def best_evidence(self, relation_ids: Sequence[str]) -> dict[str, RelationEvidence]:
        """The strongest evidence of each stored relation among ``relation_ids``."""

    @abstractmethod
    def entity_keys(self) -> list[tuple[str, str]]:
        """Every (normalised alias, entity id) pair, for building lookup indexes."""

    @abstractmethod
    def mention_pairs(self) -> list[tuple[str, str, str]]:
        """Every distinct (chunk id, document id, entity id) mention edge, for graph indexes."""

    @abstractmethod
    def relation_pairs(self) -> list[tuple[str, str, str, str, float]]:
        """Every (relation id, head, tail, type, best confidence), for graph indexes."""

    @abstractmethod
    def entity_documents(self, entity_ids: Sequence[str]) -> list[str]:
        """Ids of the documents that mention or name any of ``entity_ids``, sorted."""

    @abstractmethod
    def curation_rules(self) -> dict[str, str]:
        """Every stored curation record, key -> JSON body (see ``graph.curation``)."""

    @abstractmethod
    def save_curation_rules(self, rules: Mapping[str, str | None]) -> None:
        """Store curation records atomically; a ``None`` body deletes the record. Changes :meth:`version`.

        Raises:
            StoreError: nothing was stored.
        """

    @abstractmethod
    def model_stamp(self, kind: str) -> str | None:
        """What the store records of the ``kind`` of model that built it (e.g. ``embedder``: JSON), or None."""

    @abstractmethod
    def save_model_stamp(self, kind: str, body: str) -> None:
        """Record ``body`` as the ``kind`` of model that builds the store.

        Raises:
            StoreError: nothing was recorded.
        """

    @abstractmethod
    def snapshot(self) -> GraphSnapshot:
        """Every row but the texts, read at one point in time (see :class:`GraphSnapshot`).

        Raises:
            StoreError: the store cannot be read.
        """

    @abstractmethod
    def version(self) -> str:
        """A token that changes whenever the stored graph changes."""

    @abstractmethod
    def stats(self) -> StoreStats:
        """Counts of stored objects."""

    @abstractmethod
    def type_census(self) -> TypeCensus:
        """Entities per type and relations per (relation type, head type, tail type).

        Raises:
            StoreError: the store cannot be read.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


class VectorStore(ABC):
    """Chunk and entity vectors, vector search and keyword (BM25) search, of one vector space
    (:mod:`graph.spaces`)."""

    space: str = ""

    @abstractmethod
    def write_documents(self, bundles: Sequence[DocumentBundle]) -> None:
        """Insert or replace the chunk vectors and texts of each bundle's document.

        Raises:
            StoreError: the write failed; nothing of it is visible.
        """

    @abstractmethod
    def upsert_entities(self, entity_ids: Sequence[str], vectors: Vector) -> None:
        """Insert or replace entity vectors (rows of ``vectors``, L2-normalised)."""

    @abstractmethod
    def delete_document(self, doc_id: str) -> None:
        """Remove every chunk of the document (no error if none)."""

    @abstractmethod
    def delete_entities(self, entity_ids: Sequence[str]) -> None:
        """Remove entity vectors (missing ids are ignored)."""

    @abstractmethod
    def search_chunks(
        self, vector: Vector, k: int, doc_ids: Sequence[str] | None = None, exclude_docs: Collection[str] = ()
    ) -> list[ScoredChunk]:
        """The ``k`` chunks most similar (cosine) to ``vector``, optionally within documents.

        ``exclude_docs``: the chunks of these documents are left out *before* the search, so
        that the ``k`` returned are the best of the others (an access filter).
        """

    @abstractmethod
    def keyword_search(
        self, query: str, k: int, doc_ids: Sequence[str] | None = None
    ) -> list[ScoredChunk]:
        """The ``k`` best BM25 matches of ``query`` (higher score is better)."""

    @abstractmethod
    def keyword_matches(self, words: Sequence[str], exclude_docs: Collection[str] = ()) -> list[tuple[str, str, str]]:
        """Every chunk (id, document id, indexed text) holding any of ``words``, but those of ``exclude_docs``.

        What a restricted view scores itself (BM25 over the documents it may see). The server
        profile returns at most :data:`MAX_KEYWORD_MATCHES`.
        """

    @abstractmethod
    def search_entities(self, vector: Vector, k: int, min_score: float | None = None) -> list[ScoredEntity]:
        """The ``k`` entities whose vectors are most similar to ``vector`` (only those scoring at least
        ``min_score``, when given)."""

    @abstractmethod
    def missing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """Which of ``entity_ids`` have no vector yet."""

    @abstractmethod
    def chunk_docs(self) -> dict[str, str]:
        """Every stored chunk id with its document id (what a migration compares two spaces by)."""

    @abstractmethod
    def entity_ids(self) -> set[str]:
        """Every entity id that has a vector."""

    @abstractmethod
    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vector of each chunk among ``chunk_ids`` that has one (what a backup copies).

        Raises:
            StoreError: the store cannot be read.
        """

    @abstractmethod
    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vector of each entity among ``entity_ids`` that has one.

        Raises:
            StoreError: the store cannot be read.
        """

    @abstractmethod
    def drop(self) -> None:
        """Delete this vector space and everything in it (the original space is emptied instead).

        Raises:
            StoreError: the store failed.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
