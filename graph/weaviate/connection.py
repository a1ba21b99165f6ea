"""Connecting to Weaviate (client v4) and translating its errors.

The client is the synchronous ``weaviate.WeaviateClient``: the store ports are
synchronous and the service calls them from worker threads. Moving to
``weaviate.use_async_with_custom`` with async ports is a later step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import httpx
import weaviate
from weaviate.classes.init import AdditionalConfig, Auth, GrpcConfig, Timeout
from weaviate.exceptions import (
    WeaviateBaseError,
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    WeaviateStartUpError,
    WeaviateTimeoutError,
)

from core.errors import StoreError, StoreUnavailableError

_UNAVAILABLE = (
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    WeaviateStartUpError,
    WeaviateTimeoutError,
    WeaviateClosedClientError,
)
_UNAVAILABLE_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# Reconnect quickly once a restarted server is back (gRPC's default backoff grows to 120 s).
_GRPC_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
_UNAVAILABLE_TEXT = ("StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "Connection refused")


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the server cannot be reached."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (*_UNAVAILABLE, httpx.TransportError)):
            return True
        if isinstance(cur, grpc.RpcError) and isinstance(cur, grpc.Call) and cur.code() in _UNAVAILABLE_CODES:
            return True
        cur = cur.__cause__ or cur.__context__
    return any(text in str(exc) for text in _UNAVAILABLE_TEXT)


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Re-raise client errors as project errors.

    Args:
        what: the operation, for the message.

    Raises:
        StoreUnavailableError: the server cannot be reached (retry later).
        StoreError: any other client or server error.
    """
    try:
        yield
    except (WeaviateBaseError, httpx.HTTPError, grpc.RpcError) as exc:
        if _unreachable(exc):
            raise StoreUnavailableError(f"weaviate unavailable during {what}: {exc}") from exc
        raise StoreError(f"weaviate failed during {what}: {exc}") from exc


class Liveness:
    """A fast HTTP liveness check run before calls the client would retry for a minute.

    The v4 client retries gRPC searches that fail with UNAVAILABLE with exponential
    backoff (1+2+...+32 s); when the server is down, this check fails in milliseconds instead.
    """

    def __init__(self, host: str, http_port: int, secure: bool = False, timeout_s: float = 2.0) -> None:
        scheme = "https" if secure else "http"
        self._url = f"{scheme}://{host}:{http_port}/v1/.well-known/live"
        self._http = httpx.Client(timeout=timeout_s)

    def check(self, what: str) -> None:
        """Return when the server answers.

        Raises:
            StoreUnavailableError: it does not.
        """
        try:
            status = self._http.get(self._url).status_code
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"weaviate unavailable during {what}: {exc}") from exc
        if status != 200:
            raise StoreUnavailableError(f"weaviate unavailable during {what}: liveness answered HTTP {status}")

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


def connect(
    host: str,
    http_port: int,
    grpc_port: int,
    api_key: str = "",
    secure: bool = False,
    timeout_s: float = 30.0,
) -> weaviate.WeaviateClient:
    """Open a client and check that the server answers (its REST readiness; gRPC is used from the first query).

    The client's own start-up checks are skipped: besides pinging gRPC they ask the public package index for
    the newest client version, a call out of the machine that an offline site must never make.

    Args:
        host: server host (HTTP and gRPC).
        http_port: REST port.
        grpc_port: gRPC port.
        api_key: API key; empty for anonymous access.
        secure: use TLS for both.
        timeout_s: timeout of connection checks and queries (inserts get twice that).

    Returns:
        A connected client; the caller closes it.

    Raises:
        StoreUnavailableError: the server cannot be reached.
        StoreError: the server refused the connection (e.g. a wrong API key).
    """
    with translate_errors("connect"):
        client = weaviate.connect_to_custom(
            http_host=host,
            http_port=http_port,
            http_secure=secure,
            grpc_host=host,
            grpc_port=grpc_port,
            grpc_secure=secure,
            auth_credentials=Auth.api_key(api_key) if api_key else None,
            additional_config=AdditionalConfig(
                timeout=Timeout(init=timeout_s, query=timeout_s, insert=2 * timeout_s),
                grpc_config=GrpcConfig(channel_options=_GRPC_OPTIONS),
            ),
            skip_init_checks=True,
        )
        if not client.is_ready():
            client.close()
            raise StoreUnavailableError(f"Weaviate at {host}:{http_port} is not ready")
        return client
