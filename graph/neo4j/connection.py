"""A Neo4j driver with the schema in place and driver errors translated.

Uses the synchronous driver (``neo4j.GraphDatabase.driver``): the store ports
are synchronous and the service calls them from worker threads. Moving to
``neo4j.AsyncGraphDatabase`` with async ports is a later step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import DatabaseUnavailable, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from core.errors import StoreError, StoreUnavailableError
from graph.neo4j import queries
from graph.neo4j.statements import Statements

T = TypeVar("T")

_UNAVAILABLE = (ServiceUnavailable, SessionExpired, DatabaseUnavailable)
OUTAGE_HOLD_S = 2.0  # after a call found the server down, calls fail at once for this long


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Re-raise driver errors as project errors.

    Args:
        what: the operation, for the message.

    Raises:
        StoreUnavailableError: the server cannot be reached (retry later).
        StoreError: any other driver or server error.
    """
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StoreUnavailableError(f"neo4j unavailable during {what}: {exc}") from exc
    except (Neo4jError, DriverError) as exc:
        raise StoreError(f"neo4j failed during {what}: {exc}") from exc


class Neo4jConnection:
    """One driver per store; sessions are opened per operation (they are not thread-safe)."""

    def __init__(self, uri: str, user: str, password: str, database: str, timeout_s: float = 30.0,
                 label_prefix: str = "") -> None:
        """Connect, verify the server and create constraints and indexes if missing.

        Args:
            uri: Bolt URI, e.g. ``bolt://127.0.0.1:7687``.
            user: user name.
            password: password.
            database: database name (``neo4j`` on Community).
            timeout_s: connect timeout and managed-transaction retry budget.
            label_prefix: put before every label, relationship type and schema name, so that
                several stores share the database (see :class:`graph.neo4j.statements.Statements`).

        Raises:
            StoreUnavailableError: the server cannot be reached.
            StoreError: authentication or schema creation failed.
            ValueError: an invalid label prefix.
        """
        self.database = database
        self.q = Statements.for_prefix(label_prefix)
        self._timeout = timeout_s
        self._down_until = 0.0  # see _guard
        self._down_reason = ""
        with translate_errors("connect"):
            self.driver = neo4j.GraphDatabase.driver(
                uri,
                auth=(user, password),
                connection_timeout=timeout_s,
                connection_acquisition_timeout=timeout_s,
                max_transaction_retry_time=timeout_s,
            )
        try:
            with translate_errors("connect"):
                self.driver.verify_connectivity()
                for statement in self.q.schema:
                    self.driver.execute_query(statement, database_=database)
                self.driver.execute_query(queries.AWAIT_INDEXES, {"seconds": int(timeout_s)}, database_=database)
        except StoreError:
            self.driver.close()
            raise

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Translate driver errors; while the server is known to be down, fail at once.

        A call that finds the server down has waited out the driver's retry budget (``timeout_s``); for
        :data:`OUTAGE_HOLD_S` after it, calls raise at once instead of each waiting as long again (a request
        makes several), and the first call after that tries the server again.

        Raises:
            StoreUnavailableError, StoreError: see :func:`translate_errors`.
        """
        if time.monotonic() < self._down_until:
            raise StoreUnavailableError(f"neo4j unavailable during {what}: {self._down_reason}")
        try:
            with translate_errors(what):
                yield
        except StoreUnavailableError as exc:
            self._down_reason = str(exc.__cause__ or exc)
            self._down_until = time.monotonic() + min(OUTAGE_HOLD_S, self._timeout)
            raise

    def read(self, query: str, /, **params: Any) -> list[neo4j.Record]:
        """Run a read query (auto-retried) and return its records.

        Raises:
            StoreUnavailableError, StoreError: see :func:`translate_errors`.
        """
        with self._guard("read"):
            result = self.driver.execute_query(
                query, params, database_=self.database, routing_=neo4j.RoutingControl.READ
            )
        return list(result.records)

    def read_many(self, statements: Sequence[str]) -> list[list[dict[str, Any]]]:
        """Run several read queries in one read transaction (one point in time), each record as a dict.

        Raises:
            StoreUnavailableError, StoreError: see :func:`translate_errors`.
        """
        def work(tx: neo4j.ManagedTransaction) -> list[list[dict[str, Any]]]:
            return [[r.data() for r in tx.run(statement)] for statement in statements]

        with self._guard("read"):
            with self.driver.session(
                database=self.database, bookmark_manager=self.driver.execute_query_bookmark_manager,
                default_access_mode=neo4j.READ_ACCESS,
            ) as session:
                return session.execute_read(work)

    def run_write(self, query: str, /, **params: Any) -> list[neo4j.Record]:
        """Run one write statement as its own (auto-retried) transaction.

        Raises:
            StoreUnavailableError, StoreError: see :func:`translate_errors`.
        """
        with self._guard("write"):
            result = self.driver.execute_query(query, params, database_=self.database)
        return list(result.records)

    def write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work`` in one write transaction (retried on transient errors).

        Exceptions that ``work`` raises on purpose (e.g. ``NotFoundError``) roll the
        transaction back and propagate unchanged.

        Raises:
            StoreUnavailableError, StoreError: see :func:`translate_errors`.
        """
        with self._guard("write transaction"):
            with self.driver.session(
                database=self.database, bookmark_manager=self.driver.execute_query_bookmark_manager
            ) as session:
                return session.execute_write(work)

    def close(self) -> None:
        """Close the driver (idempotent)."""
        self.driver.close()
