"""Collections: list, create (admin), show, delete (admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.http.auth import caller, check_collection, requires
from api.http.deps import CollectionDep, RuntimeDep, provide_collection
from api.http.schemas import CollectionIn, CollectionOut
from api.http.views import collection_out
from core.errors import ConflictError
from service import collections


class CollectionsController(Controller):
    """Each collection is an isolated store; keys name the collections they may use."""

    path = "/v1/collections"
    tags = ["collections"]

    @get("/", guards=[requires("reader")], summary="Collections this key may use")
    async def list_collections(self, request: Request[Any, Any, Any], runtime: RuntimeDep) -> list[CollectionOut]:
        """Every collection the key covers, with counts."""
        key = caller(request)

        def load() -> list[CollectionOut]:
            out = []
            for name in collections.names(runtime.settings):
                if key.sees(name):
                    out.append(collection_out(runtime.registry.get(name), runtime.jobs.unfinished(name), key.viewer))
            return out

        return await runtime.work.query(load)

    @post("/", guards=[requires("admin")], status_code=HTTP_201_CREATED, summary="Create a collection")
    async def create_collection(self, data: JSONBody[CollectionIn], request: Request[Any, Any, Any],
                                runtime: RuntimeDep) -> CollectionOut:
        """Create an empty collection (409 if it exists)."""
        def create() -> CollectionOut:
            collections.create(runtime.settings, data.name)
            runtime.audit.record(caller(request), data.name, "collection.create", data.name)
            return collection_out(runtime.registry.get(data.name), 0, caller(request).viewer)

        return await runtime.work.query(create)

    @get("/{c:str}", guards=[requires("reader")], summary="One collection",
         dependencies={"collection": Provide(provide_collection)})
    async def get_collection(self, collection: CollectionDep, request: Request[Any, Any, Any],
                             runtime: RuntimeDep) -> CollectionOut:
        """Counts of what the collection holds (of what the key may see)."""
        viewer = caller(request).viewer
        return await runtime.work.query(
            lambda: collection_out(collection, runtime.jobs.unfinished(collection.name), viewer))

    @delete("/{c:str}", guards=[requires("admin")], status_code=HTTP_204_NO_CONTENT, summary="Delete a collection")
    async def delete_collection(self, c: FromPath[str], request: Request[Any, Any, Any], runtime: RuntimeDep) -> None:
        """Delete a collection and everything in it (409 while it has unfinished ingest jobs)."""
        check_collection(caller(request), c)

        def remove() -> None:
            collections.require(runtime.settings, c)
            if runtime.jobs.unfinished(c):
                raise ConflictError(f"collection {c!r} has unfinished ingest jobs; delete it when they end")
            runtime.registry.close(c)
            collections.remove(runtime.settings, c)
            runtime.jobs.drop_collection(c)
            runtime.review.drop(c)
            runtime.audit.record(caller(request), c, "collection.delete", c)

        await runtime.work.query(remove)
