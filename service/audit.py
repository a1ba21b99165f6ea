"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from service.keys import ApiKey
from service.serverdb import ServerDB

Actor = ApiKey | str
"""Who makes a change: the API key of a request, or a name for a change without one (``cli:alice``)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded change."""

    seq: int
    at: float
    key_id: str | None
    key_name: str | None
    collection: str | None
    action: str
    target: str
    before: Any
    after: Any


class AuditLog:
    """Append-only log in the server database."""

    def __init__(self, db: ServerDB) -> None:
        self._db = db

    def record(
        self, by: Actor, collection: str | None, action: str, target: str,
        before: Any = None, after: Any = None,
    ) -> None:
        """Append an entry made with an API key, or without one by a named actor (e.g. ``cli:alice``).

        Raises:
            StoreError: the server database failed.
        """
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO audit(at, key_id, key_name, collection, action, target, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), by.id if isinstance(by, ApiKey) else None, by.name if isinstance(by, ApiKey) else by,
                 collection, action, target,
                 json.dumps(before) if before is not None else None, json.dumps(after) if after is not None else None),
            )

    def recent(self, collection: str | None, offset: int = 0, limit: int = 50) -> list[AuditEntry]:
        """Entries of one collection (None: server-wide entries such as keys), newest first."""
        where = "collection IS NULL" if collection is None else "collection = ?"
        params: tuple[Any, ...] = () if collection is None else (collection,)
        rows = self._db.read(
            f"SELECT * FROM audit WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",  # noqa: S608
            (*params, limit, offset),
        )
        return [
            AuditEntry(int(r["seq"]), float(r["at"]), r["key_id"], r["key_name"], r["collection"], str(r["action"]),
                       str(r["target"]), json.loads(r["before"]) if r["before"] else None,
                       json.loads(r["after"]) if r["after"] else None)
            for r in rows
        ]
