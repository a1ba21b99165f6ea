"""Writes that span two stores (a server and another store): an intent ledger and repair.

When the graph and the vectors live in different systems (Neo4j, Weaviate, or an
embedded half next to a server) no transaction spans both. The protocol:

1. **Intent.** Before touching a store, a durable intent is recorded per document
   (``write`` or ``delete``), plus one ``entities`` intent naming the entity
   vectors the batch adds. The ledger lives with the graph store (Neo4j nodes
   ``:HopgraphIntent``, or ``DATA_DIR/ledger.db`` for the embedded graph).
2. **Vectors first, graph last.** A write replaces the chunk vectors, upserts
   entity vectors, then writes the graph in one transaction. That graph commit is
   the commit point: documents are listed, hashed and resolvable (chunk ids to
   text) only once it happened, so the ingest, which skips stored hashes, never
   skips a document whose vectors are incomplete. A delete removes the graph
   part first (the commit point), then the vectors.
3. **Done.** After the commit the document intents are cleared (entity vectors the
   write orphaned become an ``entities`` intent, cleared once deleted).
4. **Repair.** A pending document intent means "outcome unknown": repair removes
   the document from both stores (the next ingest re-adds it); a pending
   ``entities`` intent deletes those entity vectors whose entity the graph lacks.
   A failed write/delete repairs its own intents at once when it can (so nothing
   stays half-visible) and otherwise leaves them; pending intents are repaired at
   open and before every write/delete: this store's own, those of dead processes
   on this host, and those older than ``repair_after_s`` (writers on other hosts).

5. **Holds.** A reader that needs one point in time across both stores (a backup) records a ``hold``
   intent, waits until the writes in flight are done, reads, and removes it. A writer records its
   intents, then looks for holds: while one is live it withdraws its intents (it touched nothing
   yet) and waits. Writes pause for the read; queries do not.

Limits: between step 2's vector write and its graph commit, a vector search can
return chunk ids the graph does not know yet (callers resolve chunks through the
graph); if clearing the intents fails right after the commit, the write reports the
error and the repair removes the documents again (the next ingest re-adds them);
two processes writing the *same* document at once are not coordinated.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from core.errors import NotFoundError, StoreError, StoreUnavailableError
from core.process import process_alive
from graph.knowledge import KnowledgeStore
from graph.model import DocumentBundle
from graph.ports import GraphStore, Vector, VectorStore

log = logging.getLogger(__name__)

OP_WRITE = "write"
OP_DELETE = "delete"
OP_ENTITIES = "entities"
OP_HOLD = "hold"
HOLD_POLL_S = 0.2
HOLD_MAX_S = 900.0  # a hold older than this is ignored by writers (its holder hangs or died on another host)


@dataclass(frozen=True, slots=True)
class Intent:
    """One pending step: a document write/delete, or entity vectors to check."""

    key: str
    op: str
    doc_id: str
    entities: tuple[str, ...]
    owner: str
    host: str
    pid: int
    started_at: float


class Ledger(ABC):
    """Durable storage of pending intents."""

    @abstractmethod
    def record(self, add: Sequence[Intent] = (), remove: Sequence[str] = ()) -> None:
        """Atomically remove the intents keyed ``remove`` and add (or replace) ``add``.

        Raises:
            StoreError: the ledger cannot be written.
        """

    @abstractmethod
    def pending(self) -> list[Intent]:
        """Every pending intent, oldest first.

        Raises:
            StoreError: the ledger cannot be read.
        """

    @abstractmethod
    def close(self) -> None:
        """Release resources."""


class LedgeredKnowledgeStore(KnowledgeStore):
    """A KnowledgeStore over two independent stores, kept consistent by a :class:`Ledger`."""

    def __init__(
        self,
        graph: GraphStore,
        vectors: VectorStore,
        ledger: Ledger,
        repair_after_s: float = 3600.0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """Combine the stores; call :meth:`repair` once before use (``open_store`` does).

        Args:
            graph: the graph store (its commit is the commit point of a write).
            vectors: the vector store.
            ledger: where intents are recorded (closed by ``on_close``, not here).
            repair_after_s: age after which any pending intent is repaired, even a foreign one.
            on_close: called after both stores are closed.
        """
        super().__init__(graph, vectors, on_close=on_close)
        self._ledger = ledger
        self._repair_after = repair_after_s
        self._owner = uuid.uuid4().hex
        self._host = socket.gethostname()
        self._lock = threading.RLock()

    def _intent(self, op: str, doc_id: str = "", entities: Sequence[str] = ()) -> Intent:
        key = f"doc:{doc_id}" if doc_id else f"entities:{uuid.uuid4().hex}"
        return Intent(key, op, doc_id, tuple(entities), self._owner, self._host, os.getpid(), time.time())

    def _live_hold(self, intent: Intent, now: float) -> bool:
        if intent.op != OP_HOLD or intent.owner == self._owner or now - intent.started_at > HOLD_MAX_S:
            return False
        return intent.host != self._host or process_alive(intent.pid)

    def _record_unheld(self, intents: Sequence[Intent]) -> None:
        """Record ``intents``, then wait while another reader holds the writes (see the module docstring)."""
        while True:
            self._ledger.record(add=intents)
            now = time.time()
            if not any(self._live_hold(i, now) for i in self._ledger.pending()):
                return
            self._ledger.record(remove=[i.key for i in intents])
            time.sleep(HOLD_POLL_S)

    @contextmanager
    def writes_held(self, timeout_s: float = 120.0) -> Iterator[None]:
        """Pause every writer of this store (in any process that shares the ledger) while the block runs:
        the block reads one point in time of both stores.

        Raises:
            StoreUnavailableError: writes in flight did not finish within ``timeout_s``.
            StoreError: the ledger failed.
        """
        hold = Intent(f"hold:{uuid.uuid4().hex}", OP_HOLD, "", (), self._owner, self._host, os.getpid(), time.time())
        self._ledger.record(add=[hold])
        try:
            self.repair()  # intents of dead writers
            deadline = time.monotonic() + timeout_s
            while any(i.op in (OP_WRITE, OP_DELETE) for i in self._ledger.pending()):
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(f"writes in flight did not finish within {timeout_s:.0f} s")
                time.sleep(HOLD_POLL_S)
            yield
        finally:
            self._ledger.record(remove=[hold.key])

    def write(
        self,
        bundles: Sequence[DocumentBundle],
        entity_ids: Sequence[str] = (),
        entity_vectors: Vector | None = None,
    ) -> list[str]:
        """See :meth:`KnowledgeStore.write`: vectors first, then the graph commit.

        Raises:
            StoreUnavailableError: a store cannot be reached; no document of the batch is
                visible (its intents are repaired now or at the next write/open).
            StoreError: a store failed; same guarantee.
        """
        with self._lock:
            self.repair()
            intents = [self._intent(OP_WRITE, d) for d in dict.fromkeys(b.document.id for b in bundles)]
            vectors = entity_vectors if len(entity_ids) > 0 else None
            if vectors is not None:
                intents.append(self._intent(OP_ENTITIES, entities=entity_ids))
            self._record_unheld(intents)
            try:
                self.vectors.write_documents(bundles)
                if vectors is not None:
                    self.vectors.upsert_entities(entity_ids, vectors)
                removed = self.graph.write_documents(bundles)
            except StoreError as exc:
                self._compensate(intents, exc)
                raise
            cleanup = [self._intent(OP_ENTITIES, entities=removed)] if removed else []
            self._ledger.record(add=cleanup, remove=[i.key for i in intents])
            if cleanup:
                try:
                    self.vectors.delete_entities(removed)
                    self._ledger.record(remove=[cleanup[0].key])
                except StoreError as exc:  # the write is complete; stale entity vectors wait for repair
                    log.warning("orphaned entity vectors left for repair: %s", exc)
            return removed

    def delete(self, doc_id: str) -> list[str]:
        """See :meth:`KnowledgeStore.delete`: the graph first (the commit point), then the vectors.

        Raises:
            NotFoundError: no such document.
            StoreUnavailableError, StoreError: a store failed; if the document is already gone
                from the graph, the rest is recorded and finished by the next repair.
        """
        with self._lock:
            self.repair()
            intent = self._intent(OP_DELETE, doc_id)
            self._record_unheld([intent])
            try:
                removed = self.graph.delete_document(doc_id)
            except NotFoundError:
                self._ledger.record(remove=[intent.key])
                raise
            except StoreError as exc:
                self._compensate([intent], exc)
                raise
            entities = [self._intent(OP_ENTITIES, entities=removed)] if removed else []
            self._ledger.record(add=entities)
            try:
                self.vectors.delete_document(doc_id)
                if removed:
                    self.vectors.delete_entities(removed)
            except StoreError as exc:
                exc.add_note(f"hopgraph: {doc_id!r} is gone from the graph; its vectors go at the next repair")
                raise
            self._ledger.record(remove=[intent.key, *(i.key for i in entities)])
            return removed

    def repair(self) -> int:
        """Resolve the pending intents that are due (see the module docstring).

        Returns:
            How many intents were resolved.

        Raises:
            StoreUnavailableError, StoreError: a store failed; the intents stay pending.
        """
        with self._lock:
            now = time.time()
            due = [
                i for i in self._ledger.pending()
                if not (i.op == OP_HOLD and i.owner == self._owner)  # this store's own hold is lifted by its holder
                and (i.owner == self._owner
                     or (i.host == self._host and not process_alive(i.pid))
                     or now - i.started_at > self._repair_after)
            ]
            if due:
                log.info("repairing %d pending store intent(s)", len(due))
                self._resolve(due)
            return len(due)

    def _resolve(self, intents: Sequence[Intent]) -> None:
        """Remove the intents' documents from both stores, then stale entity vectors.

        Each store is cleaned even when the other fails, so that a store that is up
        shows nothing of the documents; the intents are cleared only when all succeeded.
        """
        doc_ids = [i.doc_id for i in intents if i.doc_id]
        candidates = {e for i in intents for e in i.entities}
        failures: list[StoreError] = []
        removed: list[str] = []
        try:
            for doc_id in doc_ids:
                try:
                    removed += self.graph.delete_document(doc_id)
                except NotFoundError:
                    continue
        except StoreError as exc:
            failures.append(exc)
        extra = [self._intent(OP_ENTITIES, entities=removed)] if removed else []
        candidates |= set(removed)
        try:
            self._ledger.record(add=extra)  # entities the graph just dropped: their vectors go too
        except StoreError as exc:
            failures.append(exc)
        try:
            for doc_id in doc_ids:
                self.vectors.delete_document(doc_id)
        except StoreError as exc:
            failures.append(exc)
        if failures:
            for extra_failure in failures[1:]:
                failures[0].add_note(f"hopgraph: also: {extra_failure}")
            raise failures[0]
        if candidates:
            stale = candidates - self.graph.existing_entities(candidates)
            if stale:
                self.vectors.delete_entities(sorted(stale))
        self._ledger.record(remove=[i.key for i in [*intents, *extra]])

    def _compensate(self, intents: Sequence[Intent], exc: StoreError) -> None:
        """Undo a failed write/delete now if the stores allow it; otherwise leave it pending."""
        try:
            self._resolve(intents)
        except StoreError as again:
            exc.add_note(f"hopgraph: intents left pending, repaired at the next write/open: {again}")
