"""Weaviate VectorStore: chunk and entity vectors in two collections, BM25 by Weaviate.

Collections (``PREFIX`` is ``Settings.weaviate_collection_prefix``)::

    PREFIXChunk   chunk_id, doc_id (field-tokenised, filterable), text (BM25); vector: precomputed
    PREFIXEntity  entity_id (field-tokenised);                                  vector: precomputed

A vector space a migration added (:mod:`graph.spaces`) has its own pair, ``PREFIX<Space>Chunk`` and
``PREFIX<Space>Entity`` (``<Space>``: the space name with a capital first letter).

Vectorizer none (vectors come from hopgraph's embedder), cosine HNSW for chunks (flat for entities)
distance, object UUIDs ``generate_uuid5(chunk_id | entity_id)`` so writes are
idempotent. Vector scores are cosine similarities (``1 - distance``), as in the
embedded store; keyword scores are Weaviate's BM25 scores.

On a cluster (:mod:`graph.weaviate.nodes`) the collections are created with the configured replication
factor, reads and writes ask for the configured consistency levels, and a call whose node dies is run
again on another node (every call made here is idempotent).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Collection as Many
from typing import Any, TypeVar

import numpy as np
from weaviate.classes.config import ConsistencyLevel
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter, MetadataQuery
from weaviate.collections import Collection
from weaviate.util import generate_uuid5

from core.errors import StoreError, StoreUnavailableError
from graph.model import DocumentBundle, ScoredChunk, ScoredEntity
from graph.normalize import KEYWORD_STOPWORDS, fold
from graph.ports import MAX_KEYWORD_MATCHES, Vector, VectorStore
from graph.weaviate.connection import translate_errors
from graph.weaviate.nodes import Replication, WeaviateNodes
from graph.weaviate.schema import ensure_collections, space_collections

T = TypeVar("T")

_INSERT_BATCH = 500
_RECONNECT_S = 5.0  # how long a call rides out a gRPC reconnect (or a move to another node)
_FILTER_BATCH = 500
_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = KEYWORD_STOPWORDS


def _slices(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _doc_filter(doc_ids: Sequence[str] | None, exclude_docs: Many[str]) -> Any:
    """The Weaviate filter for chunks within ``doc_ids`` (None: any) and outside ``exclude_docs``."""
    parts = []
    if doc_ids is not None:
        parts.append(Filter.by_property("doc_id").contains_any(list(doc_ids)))
    if exclude_docs:
        parts.append(Filter.by_property("doc_id").contains_none(sorted(exclude_docs)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Filter.all_of(parts)


def _similarity(distance: float | None) -> float:
    """Cosine similarity from Weaviate's cosine distance."""
    return 1.0 - float(distance or 0.0)


def _insert_many(objects: Sequence[DataObject[Any, Any]]) -> Callable[[Collection[Any, Any]], Any]:
    return lambda c: c.data.insert_many(list(objects))


def _delete_many(where: Any) -> Callable[[Collection[Any, Any]], Any]:
    return lambda c: c.data.delete_many(where=where)


def _fetch(where: Any, limit: int, key: str, vectors: bool = False) -> Callable[[Collection[Any, Any]], Any]:
    return lambda c: c.query.fetch_objects(filters=where, limit=limit, return_properties=[key],
                                           include_vector=vectors)


class WeaviateVectorStore(VectorStore):
    """VectorStore over a Weaviate server or cluster."""

    def __init__(
        self, nodes: WeaviateNodes, prefix: str = "Hopgraph", space: str = "",
        replication: Replication | None = None,
    ) -> None:
        """Use connected nodes; create the collections if missing.

        Args:
            nodes: the server or cluster nodes, closed by :meth:`close`; with liveness checks (any set made
                from addresses), a down server fails in milliseconds (the client itself retries gRPC calls
                for about a minute) and a cluster's call moves to a node that answers.
            prefix: collection name prefix (capitalised, alphanumeric).
            space: the vector space (``""``: the original one).
            replication: replication factor of new collections, consistency levels of calls.

        Raises:
            StoreUnavailableError: the server cannot be reached.
            StoreError: the collections cannot be created.
        """
        self._nodes = nodes
        self._replication = replication or Replication()
        self._read = ConsistencyLevel(self._replication.read)
        self._write = ConsistencyLevel(self._replication.write)
        if space and not space.isalnum():
            raise ValueError(f"bad vector space name {space!r}")
        self.space = space
        self.chunk_collection, self.entity_collection = space_collections(prefix, space)
        client, _ = nodes.current("create collections")
        with translate_errors("create collections"):
            ensure_collections(client, self.chunk_collection, self.entity_collection, self._replication.factor)

    def _call(self, what: str, name: str, fn: Callable[[Collection[Any, Any]], T], write: bool = False) -> T:
        """Run one idempotent call on collection ``name`` of a node that answers; ride out a reconnect.

        With liveness checks, an UNAVAILABLE error while the node answers HTTP means the gRPC channel is
        still reconnecting (e.g. after a restart): the call is retried for a few seconds. A call that failed
        on a node the store has left since (it died; its client was closed under the call) is run again on
        the new node, at least once however long it took to fail; on a cluster, so is a call that timed out
        (its coordinating node waited for a replica that died). Every call made here is idempotent
        (deterministic UUIDs, deletes by filter).

        Raises:
            StoreUnavailableError, StoreError: see :func:`translate_errors`.
        """
        deadline = time.monotonic() + _RECONNECT_S
        delay = 0.1
        moved = False
        while True:
            client, generation = self._nodes.current(what)
            try:
                with translate_errors(what):
                    collection = client.collections.get(name)
                    return fn(collection.with_consistency_level(self._write if write else self._read))
            except (StoreError, ValueError) as exc:
                if self._nodes.retired(generation) and (not moved or time.monotonic() < deadline):
                    moved = True  # the node died under the call (which may have waited out its timeout): run it
                    continue  # on the next one
                if self._nodes.several and not moved and "deadline" in str(exc).lower():
                    # a node coordinating a replicated write can wait out the call's timeout for a replica that
                    # died under it; the cluster knows by now, and the call is idempotent: once more
                    moved = True
                    continue
                if not isinstance(exc, StoreUnavailableError):
                    raise
                if time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 1.0)

    def drop_collections(self) -> None:
        """Delete both collections and everything in them (for tests and resets).

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        client, _ = self._nodes.current("drop collections")
        with translate_errors("drop collections"):
            client.collections.delete([self.chunk_collection, self.entity_collection])

    # -- writes -----------------------------------------------------------------

    def _insert(self, name: str, objects: list[DataObject[Any, Any]], what: str) -> None:
        """Batch-insert (upsert by UUID); any object that fails makes the whole call fail.

        On a cluster the objects a batch could not write are sent once more: a replica that dies under a
        batch fails the objects it was writing although the others could take them."""
        failed: list[str] = []
        for part in _slices(objects, _INSERT_BATCH):
            result = self._call(f"insert {what}", name, _insert_many(part), write=True)
            if result.errors and self._nodes.several:
                part = [part[i] for i in sorted(result.errors)]
                result = self._call(f"insert {what}", name, _insert_many(part), write=True)
            failed += [f"{part[i].properties}: {err.message}" for i, err in sorted(result.errors.items())]
        if failed:
            shown = "; ".join(failed[:10]) + (f"; ... ({len(failed)} in all)" if len(failed) > 10 else "")
            raise StoreError(f"weaviate rejected {len(failed)} {what} object(s): {shown}")

    def write_documents(self, bundles: Sequence[DocumentBundle]) -> None:
        """See :meth:`VectorStore.write_documents`.

        Deletes each document's previous chunks, then batch-inserts the new ones.
        Weaviate has no multi-object transactions: a failure can leave part of the
        batch written; :class:`graph.ledger.LedgeredKnowledgeStore` repairs that.

        Raises:
            StoreUnavailableError: the server cannot be reached.
            StoreError: objects were rejected (listed in the message) or vectors are missing.
        """
        objects: list[DataObject[Any, Any]] = []
        for bundle in bundles:
            vectors = np.asarray(bundle.chunk_vectors, dtype=np.float32)
            if bundle.chunks and (vectors.ndim != 2 or len(vectors) != len(bundle.chunks)):
                raise StoreError(
                    f"document {bundle.document.id!r}: {len(bundle.chunks)} chunks but vectors of shape {vectors.shape}"
                )
            objects += [
                DataObject(
                    properties={"chunk_id": c.id, "doc_id": c.doc_id, "text": fold(c.text)},
                    uuid=generate_uuid5(c.id),
                    vector=vectors[i].tolist(),
                )
                for i, c in enumerate(bundle.chunks)
            ]
        doc_ids = list(dict.fromkeys(b.document.id for b in bundles))
        for part in _slices(doc_ids, _FILTER_BATCH):
            where = Filter.by_property("doc_id").contains_any(list(part))
            self._call("delete old chunks", self.chunk_collection, _delete_many(where), write=True)
        self._insert(self.chunk_collection, objects, "chunk")

    def upsert_entities(self, entity_ids: Sequence[str], vectors: Vector) -> None:
        """See :meth:`VectorStore.upsert_entities`.

        Raises:
            StoreUnavailableError: the server cannot be reached.
            StoreError: objects were rejected (listed in the message).
        """
        rows = np.asarray(vectors, dtype=np.float32)
        objects: list[DataObject[Any, Any]] = [
            DataObject(properties={"entity_id": eid}, uuid=generate_uuid5(eid), vector=rows[i].tolist())
            for i, eid in enumerate(entity_ids)
        ]
        self._insert(self.entity_collection, objects, "entity")

    def delete_document(self, doc_id: str) -> None:
        """See :meth:`VectorStore.delete_document`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        where = Filter.by_property("doc_id").equal(doc_id)
        self._call("delete document", self.chunk_collection, _delete_many(where), write=True)

    def delete_entities(self, entity_ids: Sequence[str]) -> None:
        """See :meth:`VectorStore.delete_entities`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        uuids = [generate_uuid5(e) for e in dict.fromkeys(entity_ids)]
        for part in _slices(uuids, _FILTER_BATCH):
            where = Filter.by_id().contains_any(list(part))
            self._call("delete entities", self.entity_collection, _delete_many(where), write=True)

    # -- reads ------------------------------------------------------------------

    def search_chunks(
        self, vector: Vector, k: int, doc_ids: Sequence[str] | None = None, exclude_docs: Many[str] = ()
    ) -> list[ScoredChunk]:
        """See :meth:`VectorStore.search_chunks`; the score is the cosine similarity.

        With a filter (``doc_ids``, ``exclude_docs``) Weaviate pre-filters, and searches the allowed
        objects exactly (flat) while they are fewer than its flat-search cutoff (40,000 by default).

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        filters = _doc_filter(doc_ids, exclude_docs)
        near = np.asarray(vector, dtype=np.float32).tolist()
        result = self._call("vector search", self.chunk_collection, lambda c: c.query.near_vector(
            near_vector=near, limit=k, filters=filters, return_metadata=MetadataQuery(distance=True),
            return_properties=["chunk_id", "doc_id"],
        ))
        return [
            ScoredChunk(str(o.properties["chunk_id"]), str(o.properties["doc_id"]), _similarity(o.metadata.distance))
            for o in result.objects
        ]

    def keyword_search(
        self, query: str, k: int, doc_ids: Sequence[str] | None = None
    ) -> list[ScoredChunk]:
        """See :meth:`VectorStore.keyword_search`; the score is Weaviate's BM25 score.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        # the text is stored folded (as the embedded index folds it); the unfolded words also match the chunks
        # of collections written before it was (a word that matches nothing adds nothing to a BM25 score)
        words = [w for w in _TOKEN.findall(fold(query)) + _TOKEN.findall(query.lower()) if w not in _STOPWORDS]
        if k <= 0 or not words or (doc_ids is not None and not doc_ids):
            return []
        filters = _doc_filter(doc_ids, ())
        result = self._call("keyword search", self.chunk_collection, lambda c: c.query.bm25(
            query=" ".join(dict.fromkeys(words)), query_properties=["text"], limit=k, filters=filters,
            return_metadata=MetadataQuery(score=True), return_properties=["chunk_id", "doc_id"],
        ))
        return [
            ScoredChunk(str(o.properties["chunk_id"]), str(o.properties["doc_id"]), float(o.metadata.score or 0.0))
            for o in result.objects
        ]

    def keyword_matches(self, words: Sequence[str], exclude_docs: Many[str] = ()) -> list[tuple[str, str, str]]:
        """See :meth:`VectorStore.keyword_matches`: Weaviate's BM25 finds them (at most
        :data:`MAX_KEYWORD_MATCHES`), its scores are not used; the text is the indexed (folded) one.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        terms = [w for w in dict.fromkeys(words) if w]
        if not terms:
            return []
        result = self._call("keyword matches", self.chunk_collection, lambda c: c.query.bm25(
            query=" ".join(terms), query_properties=["text"], limit=MAX_KEYWORD_MATCHES,
            filters=_doc_filter(None, exclude_docs), return_properties=["chunk_id", "doc_id", "text"],
        ))
        rows = [(str(o.properties["chunk_id"]), str(o.properties["doc_id"]), str(o.properties["text"]))
                for o in result.objects]
        return sorted(rows)

    def search_entities(self, vector: Vector, k: int, min_score: float | None = None) -> list[ScoredEntity]:
        """See :meth:`VectorStore.search_entities`; the score is the cosine similarity.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        if k <= 0:
            return []
        near = np.asarray(vector, dtype=np.float32).tolist()
        result = self._call("entity vector search", self.entity_collection, lambda c: c.query.near_vector(
            near_vector=near, limit=min(k, MAX_KEYWORD_MATCHES),
            distance=None if min_score is None else 1.0 - min_score + 1e-4,
            return_metadata=MetadataQuery(distance=True), return_properties=["entity_id"],
        ))
        found = [ScoredEntity(str(o.properties["entity_id"]), _similarity(o.metadata.distance)) for o in result.objects]
        return [e for e in found if min_score is None or e.score >= min_score]

    def missing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """See :meth:`VectorStore.missing_entities`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        ids = list(dict.fromkeys(entity_ids))
        present: set[str] = set()
        for part in _slices(ids, _FILTER_BATCH):
            where = Filter.by_id().contains_any([generate_uuid5(e) for e in part])
            result = self._call("entity lookup", self.entity_collection, _fetch(where, len(part), "entity_id"))
            present |= {str(o.properties["entity_id"]) for o in result.objects}
        return set(ids) - present

    def chunk_docs(self) -> dict[str, str]:
        """See :meth:`VectorStore.chunk_docs` (a cursor over the whole collection).

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        def read(c: Collection[Any, Any]) -> dict[str, str]:
            return {str(o.properties["chunk_id"]): str(o.properties["doc_id"])
                    for o in c.iterator(return_properties=["chunk_id", "doc_id"])}
        return self._call("list chunks", self.chunk_collection, read)

    def entity_ids(self) -> set[str]:
        """See :meth:`VectorStore.entity_ids`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        def read(c: Collection[Any, Any]) -> set[str]:
            return {str(o.properties["entity_id"]) for o in c.iterator(return_properties=["entity_id"])}
        return self._call("list entities", self.entity_collection, read)

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        """See :meth:`VectorStore.chunk_vectors`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        return self._vectors_of(self.chunk_collection, "chunk_id", chunk_ids)

    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, Vector]:
        """See :meth:`VectorStore.entity_vectors`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        return self._vectors_of(self.entity_collection, "entity_id", entity_ids)

    def _vectors_of(self, name: str, key: str, ids: Sequence[str]) -> dict[str, Vector]:
        out: dict[str, Vector] = {}
        for part in _slices(list(dict.fromkeys(ids)), _FILTER_BATCH):
            where = Filter.by_id().contains_any([generate_uuid5(i) for i in part])
            result = self._call(f"read {key} vectors", name, _fetch(where, len(part), key, vectors=True))
            for o in result.objects:
                named: Any = o.vector  # the unnamed vector comes back as {"default": [...]}
                vector = named.get("default", next(iter(named.values()), None)) if isinstance(named, dict) else named
                if vector is not None:
                    out[str(o.properties[key])] = np.asarray(vector, dtype=np.float32)
        return out

    def drop(self) -> None:
        """See :meth:`VectorStore.drop`: the space's two collections are deleted (the original space's too: they
        are created again, empty, by the next store opened on it)."""
        self.drop_collections()

    def close(self) -> None:
        """See :meth:`VectorStore.close`: closes the nodes' client."""
        self._nodes.close()
