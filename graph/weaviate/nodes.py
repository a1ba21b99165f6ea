"""The Weaviate nodes a store talks to: one server, or the nodes of a cluster with failover between them.

Any node of a Weaviate cluster serves any request: it coordinates the replicas of the shards it touches,
at the consistency level the request asks. hopgraph therefore uses one node at a time and moves to the
next one that answers when that node cannot be reached. With more than one node a watcher thread checks
the node in use twice a second: when it dies, the watcher moves the store to the next node and closes the
dead node's client, so that a call the client is retrying there (it backs off for up to a minute on its
own) fails at once and is run again on the new node (:meth:`WeaviateNodes.retired`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import weaviate

from core.errors import ConfigError, StoreUnavailableError
from core.settings import Settings
from graph.weaviate.connection import Liveness, connect

log = logging.getLogger(__name__)

Consistency = Literal["ONE", "QUORUM", "ALL"]
_NODE = re.compile(r"^(?P<host>[^\s:]+|\[[0-9A-Fa-f:.]+\]):(?P<http>\d{1,5}):(?P<grpc>\d{1,5})$")
WATCH_INTERVAL_S = 0.5


@dataclass(frozen=True)
class NodeAddress:
    """Where one Weaviate node answers."""

    host: str
    http_port: int
    grpc_port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.http_port}"


@dataclass(frozen=True)
class Replication:
    """How the collections hopgraph creates are replicated, and the consistency its calls ask for.

    ``factor`` applies when a collection is created (Weaviate keeps a collection's factor); with a factor
    above 1, Weaviate's async replication (on by default since 1.38) brings a node that was down back in
    line in the background. ``read``/``write``: ONE, QUORUM (a majority of the replicas) or ALL.
    """

    factor: int = 1
    read: Consistency = "QUORUM"
    write: Consistency = "QUORUM"


def parse_node(text: str) -> NodeAddress:
    """``host:http_port:grpc_port`` as an address.

    Raises:
        ConfigError: the text is not of that form.
    """
    match = _NODE.match(text.strip())
    if match is None:
        raise ConfigError(f"bad Weaviate node {text!r}: expected host:http_port:grpc_port")
    return NodeAddress(match["host"].strip("[]"), int(match["http"]), int(match["grpc"]))


def node_addresses(settings: Settings) -> list[NodeAddress]:
    """The nodes the settings name: ``weaviate_nodes``, or else the one server of ``weaviate_host``.

    Raises:
        ConfigError: a node is not host:http_port:grpc_port.
    """
    if settings.weaviate_nodes:
        return [parse_node(n) for n in settings.weaviate_nodes]
    return [NodeAddress(settings.weaviate_host, settings.weaviate_http_port, settings.weaviate_grpc_port)]


def replication_of(settings: Settings) -> Replication:
    """The replication and consistency settings."""
    return Replication(settings.weaviate_replication_factor, settings.weaviate_read_consistency,
                       settings.weaviate_write_consistency)


def open_nodes(settings: Settings) -> WeaviateNodes:
    """Connect to the settings' Weaviate server or cluster.

    Raises:
        ConfigError, StoreUnavailableError, StoreError: see :class:`WeaviateNodes`.
    """
    return WeaviateNodes(node_addresses(settings), settings.weaviate_api_key, settings.weaviate_secure,
                         settings.store_timeout_s)


class WeaviateNodes:
    """Clients of the nodes of one Weaviate server or cluster; calls go to the current node."""

    def __init__(
        self, addresses: Sequence[NodeAddress], api_key: str = "", secure: bool = False, timeout_s: float = 30.0,
    ) -> None:
        """Connect to the first node that answers (in the given order).

        Raises:
            ConfigError: no address given.
            StoreUnavailableError: no node answers.
            StoreError: a node refused the connection (e.g. a wrong API key).
        """
        if not addresses:
            raise ConfigError("no Weaviate node given")
        self.addresses = list(addresses)
        self._api_key = api_key
        self._secure = secure
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._generation = 0
        self._index = -1
        self._client: weaviate.WeaviateClient | None = None
        self._liveness: Liveness | None = None
        self._closed = threading.Event()
        self._switch("connect", start=0)
        self._watcher: threading.Thread | None = None
        if len(self.addresses) > 1:
            self._watcher = threading.Thread(target=self._watch, name="weaviate-nodes", daemon=True)
            self._watcher.start()

    @property
    def node(self) -> str:
        """The node in use, for messages."""
        return str(self.addresses[self._index])

    @property
    def several(self) -> bool:
        """Whether there are nodes to move to."""
        return len(self.addresses) > 1

    def current(self, what: str) -> tuple[weaviate.WeaviateClient, int]:
        """The client of a node that answers, and the generation that names it (see :meth:`retired`).

        Raises:
            StoreUnavailableError: no node answers.
        """
        with self._lock:
            client, liveness, generation = self._client, self._liveness, self._generation
        if client is None or liveness is None:
            raise StoreUnavailableError(f"weaviate unavailable during {what}: the store is closed")
        try:
            liveness.check(what)
            return client, generation
        except StoreUnavailableError:
            self.fail_over(generation, what)
        with self._lock:
            assert self._client is not None
            return self._client, self._generation

    def retired(self, generation: int) -> bool:
        """Whether the node of ``generation`` was left since (a call that failed there may be run again)."""
        with self._lock:
            return generation != self._generation

    def fail_over(self, generation: int, what: str) -> None:
        """Leave the node of ``generation`` (unless another thread left it already) for the next one that answers.

        Raises:
            StoreUnavailableError: no node answers.
        """
        with self._lock:
            if generation != self._generation:
                return
            self._switch(what, start=self._index + 1)

    def _switch(self, what: str, start: int) -> None:
        """Connect to the first node from ``start`` (round) that answers; close the old node's client.

        Called with the lock held (or from ``__init__``).
        """
        errors: list[str] = []
        count = len(self.addresses)
        for step in range(count):
            index = (start + step) % count
            address = self.addresses[index]
            liveness = Liveness(address.host, address.http_port, self._secure, min(self._timeout_s, 2.0))
            try:
                liveness.check(what)
                client = connect(address.host, address.http_port, address.grpc_port, self._api_key, self._secure,
                                 self._timeout_s)
            except StoreUnavailableError as exc:
                liveness.close()
                errors.append(f"{address}: {exc}")
                continue
            except BaseException:
                liveness.close()
                raise
            old_client, old_liveness, old_index = self._client, self._liveness, self._index
            self._client, self._liveness, self._index = client, liveness, index
            self._generation += 1
            if old_client is not None:
                log.warning("weaviate node %s does not answer; using %s", self.addresses[old_index], address)
                old_client.close()  # a call the client is retrying there fails now, and is run again here
            if old_liveness is not None:
                old_liveness.close()
            return
        raise StoreUnavailableError(f"weaviate unavailable during {what}: no node answers ({'; '.join(errors)})")

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_INTERVAL_S):
            with self._lock:
                liveness, generation = self._liveness, self._generation
            if liveness is None:
                continue
            try:
                liveness.check("watch")
            except StoreUnavailableError:
                try:
                    self.fail_over(generation, "watch")
                except StoreUnavailableError as exc:
                    log.warning("%s", exc)  # every node down: calls fail with this until one is back

    def close(self) -> None:
        """Stop the watcher and close the client."""
        self._closed.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5.0)
        with self._lock:
            client, liveness = self._client, self._liveness
            self._client, self._liveness = None, None
        if client is not None:
            client.close()
        if liveness is not None:
            liveness.close()
