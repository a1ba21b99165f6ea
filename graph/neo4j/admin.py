"""Emptying hopgraph's part of a Neo4j database (a deleted collection, a benchmark run).

Only nodes with the connection's hopgraph labels (those of its label prefix) are deleted,
in batches, so a database shared with other data or other collections keeps theirs.
"""

from __future__ import annotations

from graph.neo4j.connection import Neo4jConnection

DELETE_BATCH = (
    "MATCH (n) WHERE any(label IN labels(n) WHERE label IN $labels)"
    " WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS deleted"
)
SCHEMA_NAMES = "SHOW {kind} YIELD name WHERE name STARTS WITH $prefix RETURN name"
DROP = "DROP {kind} `{name}` IF EXISTS"


def delete_hopgraph_nodes(conn: Neo4jConnection, drop_schema: bool = False) -> int:
    """Delete every hopgraph node (and its relationships) of ``conn``'s label prefix; returns how many went.

    Args:
        conn: the connection (its label prefix picks the nodes).
        drop_schema: also drop the prefix's constraints and indexes (only for a non-empty
            prefix: the unprefixed schema may serve data that predates prefixes).

    Raises:
        StoreUnavailableError, StoreError: the server failed (what was deleted stays deleted).
    """
    total = 0
    while deleted := int(conn.run_write(DELETE_BATCH, labels=list(conn.q.labels))[0]["deleted"]):
        total += deleted
    if drop_schema and conn.q.prefix:
        for kind, singular in (("CONSTRAINTS", "CONSTRAINT"), ("INDEXES", "INDEX")):
            for record in conn.read(SCHEMA_NAMES.format(kind=kind), prefix=f"hopgraph_{conn.q.prefix}"):
                # names come from the server and match the validated prefix: safe to quote
                conn.run_write(DROP.format(kind=singular, name=str(record["name"]).replace("`", "``")))
    return total
