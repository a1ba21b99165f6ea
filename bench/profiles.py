"""Store profiles for the benchmarks: the embedded default, or Neo4j + Weaviate from HOPGRAPH_* settings.

The server profile starts from an empty graph without touching anything else on the
servers: it uses Neo4j labels and Weaviate collections of a fresh prefix of its own
(``Bench<time>``), dropped afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from core.settings import Settings
from graph.neo4j.admin import delete_hopgraph_nodes
from graph.neo4j.connection import Neo4jConnection
from graph.weaviate.admin import drop_store_collections
from graph.weaviate.connection import connect


def server_overrides() -> dict[str, Any]:
    """Settings overrides of the server profile (a fresh Neo4j label prefix and Weaviate prefix)."""
    prefix = f"Bench{int(time.time())}"
    return {"graph_store": "neo4j", "vector_store": "weaviate", "weaviate_collection_prefix": prefix,
            "neo4j_label_prefix": prefix + "_"}


def wipe_neo4j(settings: Settings) -> None:
    """Delete every hopgraph node of the settings' label prefix in Neo4j, in batches (with a prefix: its schema too)."""
    conn = Neo4jConnection(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password, settings.neo4j_database,
                           label_prefix=settings.neo4j_label_prefix)
    try:
        delete_hopgraph_nodes(conn, drop_schema=True)
    finally:
        conn.close()


def drop_server_data(settings: Settings) -> None:
    """Drop what the server profile wrote: the prefix's Neo4j nodes and schema, its Weaviate collections."""
    wipe_neo4j(settings)
    drop_collections(settings)


def drop_collections(settings: Settings) -> None:
    """Drop the benchmark's Weaviate collections."""
    client = connect(settings.weaviate_host, settings.weaviate_http_port, settings.weaviate_grpc_port,
                     settings.weaviate_api_key)
    try:
        drop_store_collections(client, settings.weaviate_collection_prefix)
    finally:
        client.close()
