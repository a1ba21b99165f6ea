"""Opening the knowledge store the settings name, and dropping a server profile's data.

The factory here is the only module that knows every adapter; the adapters and the
ledger know only the ports (:mod:`graph.ports`, :mod:`graph.knowledge`, :mod:`graph.ledger`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from core.errors import ConfigError
from core.settings import Settings
from graph.knowledge import KnowledgeStore
from graph.ledger import Ledger, LedgeredKnowledgeStore
from graph.ontology import Ontology
from graph.ports import GraphStore, VectorStore
from graph.spaces import active_space


def open_store(settings: Settings, ontology: Ontology) -> KnowledgeStore:
    """Open the stores named by the settings.

    ``graph_store`` (embedded | neo4j) and ``vector_store`` (embedded | weaviate) mix
    freely. Both embedded: one SQLite database, one transaction per batch. Otherwise a
    :class:`graph.ledger.LedgeredKnowledgeStore` keeps the two consistent; it repairs
    pending intents here, before it is returned. An embedded half uses the SQLite
    database only for its own tables. The vectors are those of the store's active
    vector space (:mod:`graph.spaces`).

    Raises:
        ConfigError: the combination of stores is not available.
        StoreUnavailableError: a server cannot be reached.
        StoreError: a store cannot be opened.
    """
    if settings.graph_store == "embedded" and settings.vector_store == "embedded":
        from graph.embedded.database import EmbeddedDatabase
        from graph.embedded.graph_store import EmbeddedGraphStore
        from graph.embedded.vector_store import EmbeddedVectorStore

        db = EmbeddedDatabase(settings.db_path)
        try:
            graph_store = EmbeddedGraphStore(db, ontology.aliases)
            vector_store = EmbeddedVectorStore(db, active_space(graph_store))
        except BaseException:
            db.close()
            raise
        return KnowledgeStore(graph_store, vector_store, atomic=db.transaction, on_close=db.close)
    with ExitStack() as stack:
        graph, ledger = _open_graph(settings, ontology, stack)
        vectors = _open_vectors(settings, stack, active_space(graph))
        closers = stack.pop_all()
        store = _ledgered(graph, vectors, ledger, settings.store_repair_after_s, closers.close)
    try:
        store.repair()
    except BaseException:
        store.close()
        raise
    return store


def _ledgered(
    graph: GraphStore, vectors: VectorStore, ledger: Ledger, repair_after_s: float, on_close: Callable[[], None]
) -> LedgeredKnowledgeStore:

    def close_ledger() -> None:
        ledger.close()
        on_close()

    return LedgeredKnowledgeStore(graph, vectors, ledger, repair_after_s, on_close=close_ledger)


def _open_graph(settings: Settings, ontology: Ontology, stack: ExitStack) -> tuple[GraphStore, Ledger]:
    """The graph store and the write ledger that lives with it; closers go on ``stack``."""
    if settings.graph_store == "neo4j":
        from graph.neo4j.connection import Neo4jConnection
        from graph.neo4j.graph_store import Neo4jGraphStore
        from graph.neo4j.ledger import Neo4jLedger

        conn = Neo4jConnection(
            settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password, settings.neo4j_database,
            settings.store_timeout_s, settings.neo4j_label_prefix,
        )
        stack.callback(conn.close)
        return Neo4jGraphStore(conn, ontology.aliases), Neo4jLedger(conn)
    if settings.graph_store == "embedded":
        from graph.embedded.database import EmbeddedDatabase
        from graph.embedded.graph_store import EmbeddedGraphStore
        from graph.embedded.ledger import SqliteLedger

        db = EmbeddedDatabase(settings.db_path)
        stack.callback(db.close)
        ledger = SqliteLedger(settings.data_dir / "ledger.db")
        stack.callback(ledger.close)
        return EmbeddedGraphStore(db, ontology.aliases), ledger
    raise ConfigError(f"unknown graph_store {settings.graph_store!r}")


def open_vector_space(settings: Settings, space: str) -> VectorStore:
    """The vector store of ``space`` alone, on a connection of its own (closed by its ``close``): what a migration
    fills and what ingest keeps current beside the active space.

    Raises:
        StoreUnavailableError, StoreError: the store cannot be opened.
    """
    with ExitStack() as stack:
        vectors = _open_vectors(settings, stack, space, own=True)
        closers = stack.pop_all()
    if settings.vector_store == "weaviate":
        return vectors  # its close() closes its client and liveness check
    closers.close()  # nothing registered for an owned embedded database
    return vectors


def _open_vectors(settings: Settings, stack: ExitStack, space: str = "", own: bool = False) -> VectorStore:
    """The vector store of ``space``; its closer goes on ``stack`` (``own``: it closes its own database)."""
    if settings.vector_store == "weaviate":
        from graph.weaviate.nodes import open_nodes, replication_of
        from graph.weaviate.vector_store import WeaviateVectorStore

        nodes = open_nodes(settings)
        stack.callback(nodes.close)
        return WeaviateVectorStore(nodes, settings.weaviate_collection_prefix, space, replication_of(settings))
    if settings.vector_store == "embedded":
        from graph.embedded.database import EmbeddedDatabase
        from graph.embedded.vector_store import EmbeddedVectorStore

        db = EmbeddedDatabase(settings.db_path)
        if own:
            try:
                return EmbeddedVectorStore(db, space, owns_db=True)
            except BaseException:
                db.close()
                raise
        stack.callback(db.close)
        return EmbeddedVectorStore(db, space)
    raise ConfigError(f"unknown vector_store {settings.vector_store!r}")


def drop_graph_data(settings: Settings) -> None:
    """Delete the Neo4j nodes of the settings' label prefix, in batches (under a prefix, its schema too).

    Raises:
        StoreUnavailableError, StoreError: the server failed (what was deleted stays deleted).
    """
    from graph.neo4j.admin import delete_hopgraph_nodes
    from graph.neo4j.connection import Neo4jConnection

    conn = Neo4jConnection(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password, settings.neo4j_database,
                           settings.store_timeout_s, settings.neo4j_label_prefix)
    try:
        delete_hopgraph_nodes(conn, drop_schema=True)
    finally:
        conn.close()


def drop_vector_data(settings: Settings) -> None:
    """Drop the Weaviate collections of the settings' prefix.

    Raises:
        StoreUnavailableError, StoreError: the server failed.
    """
    from graph.weaviate.admin import drop_store_collections
    from graph.weaviate.nodes import open_nodes

    nodes = open_nodes(settings)
    try:
        drop_store_collections(nodes.current("drop collections")[0], settings.weaviate_collection_prefix)
    finally:
        nodes.close()


def drop_server_data(settings: Settings) -> None:
    """Delete what the settings' server stores hold for this store (nothing for embedded ones).

    Raises:
        StoreUnavailableError, StoreError: a server failed.
    """
    if settings.graph_store == "neo4j":
        drop_graph_data(settings)
    if settings.vector_store == "weaviate":
        drop_vector_data(settings)
