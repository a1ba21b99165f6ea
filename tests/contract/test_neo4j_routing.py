"""A ``neo4j://`` routing URI (what a Neo4j cluster or Aura is reached by: reads routed to followers, writes to
the leader, bookmarks carrying each write to the next read) works like ``bolt://``; here against the single
server, which routes to itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.neo4j.admin import delete_hopgraph_nodes
from graph.neo4j.connection import Neo4jConnection
from graph.neo4j.graph_store import Neo4jGraphStore
from graph.ontology import Ontology

from . import test_graph_store as contract
from .conftest import server_settings, unique_prefix


@pytest.fixture
def routing_store(tmp_path: Path, ontology: Ontology, neo4j_available: None) -> Iterator[Neo4jGraphStore]:
    s = server_settings(tmp_path)
    uri = "neo4j://" + s.neo4j_uri.split("://", 1)[1]
    conn = Neo4jConnection(uri, s.neo4j_user, s.neo4j_password, s.neo4j_database, s.store_timeout_s,
                           unique_prefix() + "_")
    store = Neo4jGraphStore(conn, ontology.aliases)
    try:
        yield store
    finally:
        delete_hopgraph_nodes(conn, drop_schema=True)
        store.close()


def test_documents_read_back_through_a_routing_uri(routing_store: Neo4jGraphStore) -> None:
    contract.test_documents_and_chunks_read_back(routing_store)


def test_relations_and_deletes_through_a_routing_uri(routing_store: Neo4jGraphStore) -> None:
    contract.test_delete_keeps_shared_support(routing_store)
