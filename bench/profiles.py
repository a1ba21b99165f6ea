"""Store profiles for the benchmarks: the embedded default, or Neo4j + Weaviate from HOPGRAPH_* settings.

The server profile starts from an empty graph without touching anything else on the
servers: it uses Neo4j labels and Weaviate collections of a fresh prefix of its own
(``Bench<time>``), dropped afterwards with ``graph.store.drop_server_data``.
"""

from __future__ import annotations

import time
from typing import Any


def server_overrides() -> dict[str, Any]:
    """Settings overrides of the server profile (a fresh Neo4j label prefix and Weaviate prefix)."""
    prefix = f"Bench{int(time.time())}"
    return {"graph_store": "neo4j", "vector_store": "weaviate", "weaviate_collection_prefix": prefix,
            "neo4j_label_prefix": prefix + "_"}
