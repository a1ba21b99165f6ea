"""KnowledgeStore: the graph and vector ports written together, atomically per batch.

With the embedded profile both ports share one SQLite database and a batch is
one transaction: a crash at any point leaves each document fully stored or not
at all. Which adapters a store is made of is :func:`graph.store.open_store`'s choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from graph.model import DocumentBundle
from graph.ports import GraphStore, Vector, VectorStore


@contextmanager
def _no_transaction() -> Iterator[None]:
    yield


class KnowledgeStore:
    """A graph store and a vector store that change together."""

    def __init__(
        self,
        graph: GraphStore,
        vectors: VectorStore,
        atomic: Callable[[], AbstractContextManager[object]] = _no_transaction,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.graph = graph
        self.vectors = vectors
        self._atomic = atomic
        self._on_close = on_close
        self._closers: list[Callable[[], None]] = []

    def write(
        self,
        bundles: Sequence[DocumentBundle],
        entity_ids: Sequence[str] = (),
        entity_vectors: Vector | None = None,
    ) -> list[str]:
        """Store documents (replacing earlier versions) and new entity vectors.

        Returns:
            Entity ids removed because a replaced document was their last support.

        Raises:
            StoreError: nothing of this batch is visible.
        """
        with self._atomic():
            removed = self.graph.write_documents(bundles)
            self.vectors.write_documents(bundles)
            if entity_ids and entity_vectors is not None:
                self.vectors.upsert_entities(entity_ids, entity_vectors)
            if removed:
                self.vectors.delete_entities(removed)
        return removed

    def delete(self, doc_id: str) -> list[str]:
        """Delete a document everywhere; returns the entity ids that went with it.

        Raises:
            NotFoundError: no such document.
        """
        with self._atomic():
            removed = self.graph.delete_document(doc_id)
            self.vectors.delete_document(doc_id)
            if removed:
                self.vectors.delete_entities(removed)
        return removed

    def also_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` first when the store is closed (what was opened beside it, e.g. other vector spaces)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Close both stores."""
        while self._closers:
            self._closers.pop()()
        self.graph.close()
        self.vectors.close()
        if self._on_close is not None:
            self._on_close()
