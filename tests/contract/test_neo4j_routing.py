"""A ``neo4j://`` routing URI (what a Neo4j cluster or Aura is reached by: reads routed to followers, writes to
the leader, bookmarks carrying each write to the next read) works like ``bolt://``; here against the single
server, which routes to itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.neo4j.graph_store import Neo4jGraphStore
from graph.ontology import Ontology

from . import test_graph_store as contract
from .conftest import neo4j_graph_store


@pytest.fixture
def routing_store(tmp_path: Path, ontology: Ontology, neo4j_available: None) -> Iterator[Neo4jGraphStore]:
    with neo4j_graph_store(tmp_path, ontology, scheme="neo4j") as store:
        yield store


def test_documents_read_back_through_a_routing_uri(routing_store: Neo4jGraphStore) -> None:
    contract.test_documents_and_chunks_read_back(routing_store)


def test_relations_and_deletes_through_a_routing_uri(routing_store: Neo4jGraphStore) -> None:
    contract.test_delete_keeps_shared_support(routing_store)
