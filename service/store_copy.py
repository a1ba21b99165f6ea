"""Copying one store into another of any profile, checked row by row: the server half of backup and restore.

When the source has a server half it is read under a write hold (:meth:`LedgeredKnowledgeStore.writes_held`):
writers in every process pause once their writes in flight are committed, so the graph snapshot and the vectors
read after it are one point in time; queries go on. The target must be empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext

from core.errors import StoreError
from core.settings import Settings
from graph.copy import compare, compare_vectors, copy_store
from graph.knowledge import KnowledgeStore
from graph.ledger import LedgeredKnowledgeStore
from graph.ontology import Ontology
from graph.ports import VectorStore
from graph.spaces import load_spaces
from graph.store import open_store, open_vector_space
from service import model_stamps

Progress = Callable[[str, int, int], None]
STAMPS = (model_stamps.EMBEDDER, model_stamps.PIPELINE, "vector_spaces")
HOLD_TIMEOUT_S = 120.0


@contextmanager
def _held(store: KnowledgeStore) -> Iterator[None]:
    with store.writes_held(HOLD_TIMEOUT_S) if isinstance(store, LedgeredKnowledgeStore) else nullcontext():
        yield


def transfer(source_settings: Settings, target_settings: Settings, ontology: Ontology, what: str,
             progress: Progress | None = None) -> None:
    """Copy the store of ``source_settings`` (every vector space) into the empty store of ``target_settings``.

    Raises:
        StoreError: a store failed, or the copy differs from the source (what differs is named).
        StoreUnavailableError: a server cannot be reached, or writes in flight did not finish.
    """
    with ExitStack() as stack:
        source = open_store(source_settings, ontology)
        stack.callback(source.close)
        stack.enter_context(_held(source))
        record = load_spaces(source.graph)
        spaces = record.live()[1:] if record else []
        others: dict[str, VectorStore] = {}
        target_others: dict[str, VectorStore] = {}
        for space in spaces:
            others[space] = open_vector_space(source_settings, space)
            stack.callback(others[space].close)
        target = open_store(target_settings, ontology)
        stack.callback(target.close)
        for space in spaces:
            target_others[space] = open_vector_space(target_settings, space)
            stack.callback(target_others[space].close)
        if target.graph.stats().documents:
            raise StoreError(f"{what}: the target store is not empty")
        snap = source.graph.snapshot()

        def step(done: int, total: int) -> None:
            if progress is not None:
                progress(what, done, total)

        copy_store(source, others, target, target_others, snap, ontology.aliases, STAMPS, step)
        problems = compare(snap, target.graph.snapshot())
        problems += compare_vectors(source.vectors, target.vectors)
        for space in spaces:
            problems += [f"space {space}: {p}" for p in compare_vectors(others[space], target_others[space])]
        if source.graph.version() != snap.version:
            problems.append("the source changed while it was read")
        if problems:
            raise StoreError(f"{what}: the copy differs from its source: " + "; ".join(problems))
