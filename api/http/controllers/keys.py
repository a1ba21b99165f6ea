"""API keys (admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.http.auth import caller, requires
from api.http.deps import RuntimeDep
from api.http.schemas import KeyCreated, KeyIn, KeyOut
from api.http.views import key_out
from service.key_changes import create_key, revoke_key


class WhoAmIController(Controller):
    """The calling key itself (any role): what the web app signs in with."""

    path = "/v1/whoami"
    tags = ["keys"]

    @get("/", guards=[requires("reader")], summary="The calling key")
    async def whoami(self, request: Request[Any, Any, Any]) -> KeyOut:
        """The calling key's id, name, role, collections and principals (never its secret)."""
        return key_out(caller(request))


class KeysController(Controller):
    """Create, list and revoke keys; a new key's secret is shown once."""

    path = "/v1/keys"
    tags = ["keys"]
    guards = [requires("admin")]

    @get("/", summary="Active keys")
    async def list_keys(self, runtime: RuntimeDep) -> list[KeyOut]:
        """Keys that have not been revoked (no secrets)."""
        return [key_out(k) for k in await runtime.work.query(runtime.keys.active)]

    @post("/", status_code=HTTP_201_CREATED, summary="Create a key")
    async def create_key(self, data: JSONBody[KeyIn], request: Request[Any, Any, Any],
                         runtime: RuntimeDep) -> KeyCreated:
        """The response holds the secret key; it cannot be shown again."""
        def create() -> KeyCreated:
            key, secret = create_key(runtime.keys, runtime.audit, caller(request), data.role, data.collections,
                                     data.name, data.principals)
            return KeyCreated(secret, key.id, key.name, key.role, list(key.collections), key.created_at,
                              list(key.principals))

        return await runtime.work.query(create)

    @delete("/{key_id:str}", status_code=200, summary="Revoke a key")
    async def revoke_key(self, key_id: FromPath[str], request: Request[Any, Any, Any], runtime: RuntimeDep) -> KeyOut:
        """The key stops working within a few seconds in every server process (409 for the calling key)."""
        me = caller(request)
        return key_out(await runtime.work.query(revoke_key, runtime.keys, runtime.audit, me, key_id))
