"""Store profiles for the benchmarks: the embedded default, or Neo4j + Weaviate from HOPGRAPH_* settings.

The server profile starts from an empty graph: it deletes every node of the
configured Neo4j database (only with ``--wipe-neo4j``: Neo4j Community has one
database, so point it at a server you use for benchmarks) and uses Weaviate
collections of its own, dropped afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from core.settings import Settings
from graph.neo4j.admin import delete_hopgraph_nodes
from graph.neo4j.connection import Neo4jConnection
from graph.weaviate.admin import drop_store_collections
from graph.weaviate.connection import connect


def server_overrides(wipe_neo4j: bool) -> dict[str, Any]:
    """Settings overrides of the server profile (a fresh Weaviate prefix)."""
    if not wipe_neo4j:
        raise SystemExit("the server profile empties the Neo4j database first: pass --wipe-neo4j to agree")
    return {"graph_store": "neo4j", "vector_store": "weaviate",
            "weaviate_collection_prefix": f"Bench{int(time.time())}"}


def wipe_neo4j(settings: Settings) -> None:
    """Delete every hopgraph node of the configured Neo4j database, in batches."""
    conn = Neo4jConnection(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password, settings.neo4j_database)
    try:
        delete_hopgraph_nodes(conn)
    finally:
        conn.close()


def drop_collections(settings: Settings) -> None:
    """Drop the benchmark's Weaviate collections."""
    client = connect(settings.weaviate_host, settings.weaviate_http_port, settings.weaviate_grpc_port,
                     settings.weaviate_api_key)
    try:
        drop_store_collections(client, settings.weaviate_collection_prefix)
    finally:
        client.close()
