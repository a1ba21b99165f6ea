"""Contract fixtures: every port parametrised over every adapter.

Server adapters read their connection from the HOPGRAPH_* environment
(``source .services/env`` after ``bash deploy/services.sh start``). When a server
cannot be reached the test is skipped with the reason, or FAILS when ``CI`` is set:
CI never skips the server adapters silently.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.errors import StoreError
from core.settings import Settings
from graph.embedded.database import EmbeddedDatabase
from graph.embedded.graph_store import EmbeddedGraphStore
from graph.embedded.vector_store import EmbeddedVectorStore
from graph.knowledge import KnowledgeStore
from graph.neo4j.admin import delete_hopgraph_nodes
from graph.neo4j.connection import Neo4jConnection
from graph.neo4j.graph_store import Neo4jGraphStore
from graph.ontology import Ontology
from graph.ports import GraphStore, VectorStore
from graph.store import drop_graph_data, drop_vector_data, open_store
from graph.weaviate.connection import connect
from graph.weaviate.nodes import open_nodes, replication_of
from graph.weaviate.vector_store import WeaviateVectorStore
from tests.conftest import service_missing
from tests.contract.cluster import WeaviateCluster


def _unreachable(service: str, exc: BaseException) -> None:
    message = (
        f"{service} is not reachable ({exc}); start it with `bash deploy/services.sh start` "
        "and `source .services/env`"
    )
    service_missing(message)


def server_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings from the HOPGRAPH_* environment, with a fresh data dir and short timeouts."""
    values: dict[str, object] = {"data_dir": data_dir, "store_timeout_s": 10.0, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def neo4j_available(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip (or fail in CI) when Neo4j cannot be reached; otherwise make sure its schema exists."""
    s = server_settings(tmp_path_factory.mktemp("probe"))
    try:
        Neo4jConnection(s.neo4j_uri, s.neo4j_user, s.neo4j_password, s.neo4j_database, 5.0).close()
    except StoreError as exc:
        _unreachable("Neo4j", exc)


@pytest.fixture(scope="session")
def weaviate_available(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip (or fail in CI) when Weaviate cannot be reached."""
    s = server_settings(tmp_path_factory.mktemp("probe"))
    try:
        connect(s.weaviate_host, s.weaviate_http_port, s.weaviate_grpc_port, s.weaviate_api_key, timeout_s=5.0).close()
    except StoreError as exc:
        _unreachable("Weaviate", exc)


def unique_prefix() -> str:
    """A Weaviate collection (or Neo4j label) prefix of its own for one test."""
    return "T" + uuid.uuid4().hex[:12]


@pytest.fixture(params=["embedded", "neo4j"])
def graph_store(request: pytest.FixtureRequest, tmp_path: Path, ontology: Ontology) -> Iterator[GraphStore]:
    """An empty GraphStore of each adapter."""
    if request.param == "embedded":
        db = EmbeddedDatabase(tmp_path / "hopgraph.db")
        yield EmbeddedGraphStore(db, ontology.aliases)
        db.close()
        return
    request.getfixturevalue("neo4j_available")
    with neo4j_graph_store(tmp_path, ontology) as store:
        yield store


@contextmanager
def neo4j_graph_store(tmp_path: Path, ontology: Ontology, scheme: str | None = None) -> Iterator[Neo4jGraphStore]:
    """A Neo4j graph store under labels of its own (the rest of the database is never touched), dropped after;
    ``scheme`` (e.g. ``neo4j``) replaces the configured URI's."""
    s = server_settings(tmp_path)
    uri = f"{scheme}://{s.neo4j_uri.split('://', 1)[1]}" if scheme else s.neo4j_uri
    conn = Neo4jConnection(uri, s.neo4j_user, s.neo4j_password, s.neo4j_database, s.store_timeout_s,
                           unique_prefix() + "_")
    store = Neo4jGraphStore(conn, ontology.aliases)
    try:
        yield store
    finally:
        delete_hopgraph_nodes(conn, drop_schema=True)
        store.close()


@pytest.fixture(scope="session")
def weaviate_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeaviateCluster]:
    """A 3-node Weaviate cluster of this run (deploy/services.sh start weaviate-cluster), stopped at the end."""
    cluster = WeaviateCluster(tmp_path_factory.mktemp("weaviate-cluster"))
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        service_missing(f"the Weaviate cluster did not start: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["embedded", "weaviate", "weaviate-cluster"])
def vector_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """An empty VectorStore of each adapter (Weaviate: collections of a unique prefix, dropped after; on the
    3-node cluster with replication factor 3, QUORUM reads and writes)."""
    if request.param == "embedded":
        db = EmbeddedDatabase(tmp_path / "hopgraph.db")
        yield EmbeddedVectorStore(db)
        db.close()
        return
    if request.param == "weaviate":
        request.getfixturevalue("weaviate_available")
        s = server_settings(tmp_path)
    else:
        s = server_settings(tmp_path, **request.getfixturevalue("weaviate_cluster").overrides)
    store = WeaviateVectorStore(open_nodes(s), unique_prefix(), replication=replication_of(s))
    try:
        yield store
    finally:
        store.drop_collections()
        store.close()


COMBINATIONS = ["embedded+embedded", "neo4j+weaviate", "embedded+weaviate", "neo4j+embedded"]

StoreFactory = Callable[[], KnowledgeStore]


@pytest.fixture(params=COMBINATIONS)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one graph+vector combination, its server data under a prefix of its own (dropped after)."""
    graph, vectors = str(request.param).split("+")
    prefix = unique_prefix()
    s = server_settings(tmp_path / "data", graph_store=graph, vector_store=vectors,
                        weaviate_collection_prefix=prefix, neo4j_label_prefix=prefix + "_")
    if graph == "neo4j":
        request.getfixturevalue("neo4j_available")
    if vectors == "weaviate":
        request.getfixturevalue("weaviate_available")
    yield s
    if graph == "neo4j":
        drop_graph_data(s)
    if vectors == "weaviate":
        drop_vector_data(s)


@pytest.fixture
def open_knowledge_store(store_settings: Settings, ontology: Ontology) -> Iterator[StoreFactory]:
    """Opens (and finally closes) KnowledgeStores on ``store_settings``; call it again to 'restart'."""
    opened: list[KnowledgeStore] = []

    def factory() -> KnowledgeStore:
        opened.append(open_store(store_settings, ontology))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def knowledge_store(open_knowledge_store: StoreFactory) -> KnowledgeStore:
    """A KnowledgeStore of each combination."""
    return open_knowledge_store()
