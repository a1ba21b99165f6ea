"""Per-key token buckets in the shared server database (PostgreSQL), for API replicas on several hosts: the
limit of a key holds across every replica, as :class:`api.http.ratelimit.TokenBuckets` makes it hold across
the processes of one host.

A take is one statement (an upsert that refills, takes a token when one is there, and says whether it did),
atomic under PostgreSQL's row lock of that key's bucket: no other lock, one round trip per request.
"""

from __future__ import annotations

import time

from api.http.ratelimit import TokenBuckets
from service.serverdb_pg import PostgresServerDB

_REFILLED = "LEAST(:burst, rate_buckets.tokens + GREATEST(0, :now - rate_buckets.at) * :rate)"
TAKE = (
    "INSERT INTO rate_buckets (key, tokens, at, allowed) VALUES (:key, :burst - 1, :now, 1) "  # noqa: S608
    "ON CONFLICT (key) DO UPDATE SET "
    f"tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END, "
    f"allowed = CASE WHEN {_REFILLED} >= 1 THEN 1 ELSE 0 END, at = GREATEST(:now, rate_buckets.at) "
    "RETURNING tokens, allowed"
)


class SharedBuckets:
    """One bucket of ``burst`` tokens per key, refilled at ``rate`` tokens per second, in PostgreSQL."""

    def __init__(self, rate: float, burst: int, db: PostgresServerDB) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._db = db

    @property
    def enabled(self) -> bool:
        """False when the rate is 0 (no limit)."""
        return self._rate > 0

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0 when allowed, else the seconds until a token is available.

        Raises:
            StoreError: the database failed (StoreUnavailableError: it cannot be reached).
        """
        if not self.enabled:
            return 0.0
        values = {"key": key, "burst": self._burst, "now": time.time(), "rate": self._rate}
        row = self._db.statement(TAKE, values)[0]
        return 0.0 if row["allowed"] else (1.0 - float(row["tokens"])) / self._rate

    def close(self) -> None:
        """Nothing to release (the database is the runtime's)."""

    retry_after = staticmethod(TokenBuckets.retry_after)
