"""A restricted view of a knowledge store: what one viewer may see, read-only."""

from __future__ import annotations

from graph.access import Viewer
from graph.knowledge import KnowledgeStore
from graph.ontology import AliasRules
from graph.visible.graph_store import SnapshotCache, VisibleGraph
from graph.visible.vector_store import VisibleVectors


def visible_store(store: KnowledgeStore, cache: SnapshotCache, viewer: Viewer, rules: AliasRules) -> KnowledgeStore:
    """``store`` as ``viewer`` sees it (``cache`` must be over ``store.graph``); the store itself when
    the viewer sees everything."""
    if viewer.sees_everything:
        return store
    graph = VisibleGraph(cache, viewer, rules)
    return KnowledgeStore(graph, VisibleVectors(store.vectors, graph))
