"""A read-through cache of entities in front of a graph store, for the answer path.

Extractive answers look up the entities of every sentence of every passage,
mostly the same few entities again; each lookup is several queries. This view
memoises ``get_entity`` for as long as the graph's version stays the same
(checked at most every ``check_every_s``), and passes every other call through.
It composes the store port; it does not extend it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from graph.model import Entity
from graph.ports import GraphStore


class CachedEntities:
    """``get_entity`` memoised per graph version; everything else delegated to ``graph``."""

    def __init__(self, graph: GraphStore, check_every_s: float = 0.5, max_entries: int = 50_000) -> None:
        self._graph = graph
        self._check_every_s = check_every_s
        self._max = max_entries
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Entity | None] = OrderedDict()
        self._version = ""
        self._checked = float("-inf")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)

    def _fresh(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self._check_every_s:
                return
            self._checked = now
        version = self._graph.version()
        with self._lock:
            if version != self._version:
                self._cache.clear()
                self._version = version

    def get_entity(self, entity_id: str) -> Entity | None:
        """See :meth:`GraphStore.get_entity`."""
        self._fresh()
        with self._lock:
            if entity_id in self._cache:
                self._cache.move_to_end(entity_id)
                return self._cache[entity_id]
        found = self._graph.get_entity(entity_id)
        with self._lock:
            self._cache[entity_id] = found
            if len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return found
