"""What each request costs, and the request outcomes the SLOs are measured on.

A request's cost is its :class:`Usage`: CPU seconds, prompt and generated tokens, retrieval and
generation time. CPU is measured by a :class:`CpuMeter`: the process's CPU time (``process_time``,
every thread, llama.cpp's and the embedder's included) is shared out among the units of work running
at the moment it is spent, in equal parts. The sum over requests is the process's CPU while it
served them; one request alone gets exactly the CPU spent while it ran; requests that overlap share
it evenly (a cheap retrieval running beside a generation is charged part of the generation's CPU;
the totals per collection and key stay right).

Every finished request is also added to the :class:`UsageLog`: per-second buckets in the server
database (``usage`` table) keyed by collection, key and endpoint, holding the cost sums, the
request count, the 5xx count and the count of requests slower than the latency objective. The
buckets are kept in memory and written every :data:`FLUSH_EVERY_S` (and at shutdown), so a crash
loses at most that much usage; every worker process of a server writes the same table, so the
usage summary and the SLO burn rates are the whole server's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import TypeVar

from service.serverdb import ServerDB

T = TypeVar("T")
FLUSH_EVERY_S = 2.0
RETENTION_S = 90 * 24 * 3600.0  # usage buckets older than this are dropped at flush


@dataclass
class Usage:
    """The cost of one request (or a sum of requests)."""

    cpu_s: float = 0.0  # CPU seconds of the work done for it (see CpuMeter)
    prompt_tokens: int = 0  # tokens the reader read (every reading pass)
    completion_tokens: int = 0  # tokens the reader generated
    retrieval_s: float = 0.0  # wall time of retrieval
    generation_s: float = 0.0  # wall time of answer generation (its second-hop retrieval included)

    def add(self, other: Usage) -> None:
        """Add ``other``'s figures to this one's."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, float]:
        """The figures, rounded for display."""
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


class CpuMeter:
    """Shares the process's CPU time out among the units of work running when it is spent."""

    def __init__(self, clock: Callable[[], float] = time.process_time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[int, float] = {}
        self._next = 0
        self._last = clock()

    def _advance(self) -> None:  # under the lock
        now = self._clock()
        spent, self._last = now - self._last, now
        if self._active and spent > 0:
            share = spent / len(self._active)
            for unit in self._active:
                self._active[unit] += share

    @contextmanager
    def unit(self, usage: Usage) -> Iterator[None]:
        """Charge ``usage.cpu_s`` with this unit's share of the CPU spent while the block runs."""
        with self._lock:
            self._advance()
            token, self._next = self._next, self._next + 1
            self._active[token] = 0.0
        try:
            yield
        finally:
            with self._lock:
                self._advance()
                usage.cpu_s += self._active.pop(token)

    def metered(self, usage: Usage, fn: Callable[[], T]) -> Callable[[], T]:
        """``fn`` wrapped so that running it charges ``usage``."""
        def run() -> T:
            with self.unit(usage):
                return fn()
        return run


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished request, as the usage log and the SLOs count it."""

    collection: str  # "" for requests outside a collection
    key_id: str  # "" without a key (auth off, or unauthenticated endpoints)
    endpoint: str  # retrieve, query, or other
    error: bool  # answered 5xx
    slow: bool  # a retrieve slower than the latency objective
    usage: Usage


_COLUMNS = ("requests", "errors", "slow", "cpu_s", "prompt_tokens", "completion_tokens", "retrieval_s",
            "generation_s")
_COUNTS = frozenset({"requests", "errors", "slow", "prompt_tokens", "completion_tokens"})  # integer columns
_UPSERT = (
    "INSERT INTO usage(second, collection, key_id, endpoint, " + ", ".join(_COLUMNS) + ") "
    "VALUES (?, ?, ?, ?, " + ", ".join("?" * len(_COLUMNS)) + ") "
    "ON CONFLICT(second, collection, key_id, endpoint) DO UPDATE SET "
    + ", ".join(f"{c} = usage.{c} + excluded.{c}" for c in _COLUMNS)
)

_SUMMARY = (  # fixed column names only; every value is a bound parameter
    "SELECT key_id, endpoint, " + ", ".join(f"SUM({c}) AS {c}" for c in _COLUMNS)  # noqa: S608
    + " FROM usage WHERE collection = ? AND second >= ? AND second <= ? GROUP BY key_id, endpoint"
)


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """Usage summed over a period."""

    since: float
    until: float
    requests: int
    errors: int
    usage: Usage
    by_key: dict[str, Usage]
    by_endpoint: dict[str, int]


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Request counts in a trailing window (for the SLO burn rates)."""

    window_s: float
    requests: int  # every request
    errors: int  # answered 5xx
    retrieves: int  # retrieve requests
    slow: int  # retrieve requests slower than the objective


class UsageLog:
    """Per-second usage buckets in the server database, written in batches."""

    def __init__(self, db: ServerDB, clock: Callable[[], float] = time.time) -> None:
        self._db, self._clock = db, clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, str, str, str], list[float]] = {}

    def add(self, outcome: Outcome) -> None:
        """Count one finished request (in memory until the next :meth:`flush`)."""
        u = outcome.usage
        row = (1, int(outcome.error), int(outcome.slow), u.cpu_s, u.prompt_tokens, u.completion_tokens,
               u.retrieval_s, u.generation_s)
        key = (int(self._clock()), outcome.collection, outcome.key_id, outcome.endpoint)
        with self._lock:
            sums = self._pending.setdefault(key, [0.0] * len(_COLUMNS))
            for i, v in enumerate(row):
                sums[i] += v

    def flush(self) -> int:
        """Write the pending buckets in one transaction and drop buckets past the retention; the number written.

        Raises:
            StoreError: the server database failed (the buckets stay pending for the next flush).
        """
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self._db.write() as conn:
                conn.executemany(_UPSERT, [(*k, *(int(v) if c in _COUNTS else v for c, v in zip(_COLUMNS, sums,
                                                                                              strict=True)))
                                           for k, sums in pending.items()])
                conn.execute("DELETE FROM usage WHERE second < ?", (int(self._clock() - RETENTION_S),))
        except BaseException:
            with self._lock:  # put them back, merged with what came meanwhile
                for k, sums in pending.items():
                    mine = self._pending.setdefault(k, [0.0] * len(_COLUMNS))
                    for i, v in enumerate(sums):
                        mine[i] += v
            raise
        return len(pending)

    def summary(self, collection: str, since: float, until: float | None = None) -> UsageSummary:
        """Usage of ``collection`` from ``since`` (epoch seconds) to ``until`` (default: now), written buckets only.

        Raises:
            StoreError: the server database failed.
        """
        end = self._clock() if until is None else until
        rows = self._db.read(_SUMMARY, (collection, int(since), int(end)))
        total = Usage()
        by_key: dict[str, Usage] = {}
        by_endpoint: dict[str, int] = {}
        requests = errors = 0
        for r in rows:
            u = Usage(float(r["cpu_s"]), int(r["prompt_tokens"]), int(r["completion_tokens"]),
                      float(r["retrieval_s"]), float(r["generation_s"]))
            total.add(u)
            by_key.setdefault(str(r["key_id"]), Usage()).add(u)
            by_endpoint[str(r["endpoint"])] = by_endpoint.get(str(r["endpoint"]), 0) + int(r["requests"])
            requests += int(r["requests"])
            errors += int(r["errors"])
        return UsageSummary(float(since), float(end), requests, errors, total, by_key, by_endpoint)

    def window(self, window_s: float) -> WindowCounts:
        """Counts over the last ``window_s`` seconds, every collection, written buckets only.

        Raises:
            StoreError: the server database failed.
        """
        r = self._db.read(
            "SELECT COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(errors), 0) AS errors,"
            " COALESCE(SUM(CASE WHEN endpoint = 'retrieve' THEN requests ELSE 0 END), 0) AS retrieves,"
            " COALESCE(SUM(slow), 0) AS slow FROM usage WHERE second > ?",
            (int(self._clock() - window_s),))[0]
        return WindowCounts(window_s, int(r["requests"]), int(r["errors"]), int(r["retrieves"]), int(r["slow"]))
