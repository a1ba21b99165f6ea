"""The write ledger of graph/ledger.py kept as ``:HopgraphIntent`` nodes in Neo4j.

Living next to the graph it guards, the ledger is shared by every process and
host that writes to the same Neo4j database.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph.ledger import Intent, Ledger
from graph.neo4j.connection import Neo4jConnection


class Neo4jLedger(Ledger):
    """Intents as nodes; the connection is shared with (and closed by) the graph store."""

    def __init__(self, conn: Neo4jConnection) -> None:
        """Use an open connection (the schema has the ``HopgraphIntent.key`` constraint)."""
        self._conn = conn
        self._q = conn.q

    def record(self, add: Sequence[Intent] = (), remove: Sequence[str] = ()) -> None:
        """See :meth:`Ledger.record`: one auto-commit transaction.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        if not add and not remove:
            return
        rows = [
            {"key": i.key, "op": i.op, "doc_id": i.doc_id, "entities": list(i.entities), "owner": i.owner,
             "host": i.host, "pid": i.pid, "started_at": i.started_at}
            for i in add
        ]
        self._conn.run_write(self._q.INTENT_RECORD, add=rows, remove=list(remove))

    def pending(self) -> list[Intent]:
        """See :meth:`Ledger.pending`.

        Raises:
            StoreUnavailableError, StoreError: the server failed.
        """
        return [
            Intent(r["key"], r["op"], r["doc_id"], tuple(r["entities"]), r["owner"], r["host"], int(r["pid"]),
                   float(r["started_at"]))
            for r in self._conn.read(self._q.INTENT_PENDING)
        ]

    def close(self) -> None:
        """See :meth:`Ledger.close` (nothing to do: the graph store closes the connection)."""
