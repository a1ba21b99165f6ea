"""Authentication (API keys), authorisation (roles, collections) and rate limiting.

``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Roles nest: reader <
editor < curator < admin. A key sees only its collections (admin: all); a
collection it may not see answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from api.http.runtime import Runtime
from core.errors import NotFoundError
from service.keys import ALL_COLLECTIONS, ROLES, ApiKey, KeyStore

LOCAL_ADMIN = ApiKey("local", "local (auth disabled)", "admin", (ALL_COLLECTIONS,), 0.0)


def _token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    auth = connection.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = connection.headers.get("x-api-key", "").strip()
    return key or None


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` to the caller's :class:`ApiKey`; 401 without a valid one."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        """Verify the key of the request.

        Raises:
            NotAuthorizedException: no key, or an unknown or revoked one.
        """
        runtime: Runtime = connection.app.state.runtime
        if not runtime.settings.api_auth:
            return AuthenticationResult(user=LOCAL_ADMIN, auth=None)
        token = _token(connection)
        if token is None:
            raise NotAuthorizedException("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'")
        key = await _verify(runtime.keys, token)
        if key is None:
            raise NotAuthorizedException("the API key is invalid or revoked")
        return AuthenticationResult(user=key, auth=key.id)


async def _verify(keys: KeyStore, token: str) -> ApiKey | None:
    if keys.refresh_due():  # the key table is re-read every few seconds, in a thread (blocking I/O)
        await anyio.to_thread.run_sync(keys.refresh)
    key = keys.check(token)
    if key is None and keys.refresh_due(after_miss=True):  # perhaps a key made a moment ago
        await anyio.to_thread.run_sync(keys.refresh)
        key = keys.check(token)
    return key


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """The authenticated key of a request."""
    key = connection.scope.get("user")
    if not isinstance(key, ApiKey):
        raise NotAuthorizedException("not authenticated")
    return key


def requires(role: str) -> Guard:
    """A guard that lets through keys whose role includes ``role``.

    Curator work (curation, the ontology, the audit log) spans the whole graph, so it also needs a key
    that sees every document (principals ``*``): a narrower key is refused whatever the collection holds.
    """
    whole_graph = ROLES.index(role) >= ROLES.index("curator")

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        key = caller(connection)
        if not key.allows(role):
            raise PermissionDeniedException(f"this needs the {role} role; the key's role is {key.role}")
        if whole_graph and not key.viewer.sees_everything:
            raise PermissionDeniedException("curator work spans the whole graph: it needs a key that sees every "
                                            "document (principals '*')")

    guard.__name__ = f"requires_{role}"
    return guard


async def rate_limit(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Take a token from the caller's bucket (in a quick thread: the buckets are shared under ``flock``).

    Raises:
        TooManyRequestsException: the bucket is empty (with ``Retry-After``).
    """
    runtime: Runtime = connection.app.state.runtime
    key = caller(connection)
    if not runtime.buckets.enabled:
        return
    wait = await runtime.work.quick(runtime.buckets.take, key.id)
    if wait > 0:
        raise TooManyRequestsException(
            f"rate limit of {runtime.settings.api_rate_per_s:g} requests/s for this key exceeded",
            headers={"Retry-After": runtime.buckets.retry_after(wait)},
        )


def check_collection(key: ApiKey, name: str) -> None:
    """Refuse a collection the key may not see, exactly as if it did not exist.

    Raises:
        NotFoundError: the key does not cover ``name``.
    """
    if not key.sees(name):
        raise NotFoundError(f"no collection {name!r}")
