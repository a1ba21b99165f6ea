"""Emptying hopgraph's part of a Neo4j database (a deleted collection, a benchmark run).

Only nodes with hopgraph's labels are deleted, in batches, so a database shared with other
data keeps that data.
"""

from __future__ import annotations

from graph.neo4j.connection import Neo4jConnection

LABELS = ("Document", "Chunk", "Entity", "Alias", "Evidence", "HopgraphMeta", "HopgraphCuration", "HopgraphIntent")
DELETE_BATCH = (
    "MATCH (n) WHERE any(label IN labels(n) WHERE label IN $labels)"
    " WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS deleted"
)


def delete_hopgraph_nodes(conn: Neo4jConnection) -> int:
    """Delete every hopgraph node (and its relationships); returns how many went.

    Raises:
        StoreUnavailableError, StoreError: the server failed (what was deleted stays deleted).
    """
    total = 0
    while deleted := int(conn.run_write(DELETE_BATCH, labels=list(LABELS))[0]["deleted"]):
        total += deleted
    return total
