"""The Neo4j adapter: GraphStore (and the write ledger) on a Neo4j 5 server over Bolt."""
