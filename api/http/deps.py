"""What handlers receive besides the body: injected dependencies and shared query parameters.

Dependencies are injected by name (Litestar's ``NamedDependency``): a handler parameter
``runtime: RuntimeDep`` gets the ``runtime`` dependency, ``collection: CollectionDep`` the
caller's collection. Paged lists share ``Offset`` and ``Limit``.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.http.auth import caller, check_collection
from api.http.runtime import Runtime
from api.http.schemas import MAX_OFFSET
from service.registry import Collection
from service.views import Reading

RuntimeDep: TypeAlias = NamedDependency[Runtime]
"""The running server's state (dependency ``runtime``)."""

CollectionDep: TypeAlias = NamedDependency[Collection]
"""The collection named in the path, checked against the caller's key (dependency ``collection``)."""

ReadingDep: TypeAlias = NamedDependency[Reading]
"""What the caller's key reads the collection through: only the documents its principals may see, and what is
derived from them (dependency ``reading``)."""

Offset: TypeAlias = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip.")]
Limit: TypeAlias = Annotated[int, QueryParameter(ge=1, le=500, description="Items to return at most.")]


def provide_runtime(state: State) -> Runtime:
    """The running server's state."""
    runtime: Runtime = state.runtime
    return runtime


async def provide_collection(c: FromPath[str], request: Request[Any, Any, Any], runtime: RuntimeDep) -> Collection:
    """The collection named in the path, if the caller's key covers it (404 otherwise), opened on first use."""
    check_collection(caller(request), c)
    found = await runtime.work.quick(runtime.registry.peek, c)  # two stat() calls
    return found if found is not None else await runtime.work.query(runtime.registry.get, c)


async def provide_reading(collection: CollectionDep, request: Request[Any, Any, Any]) -> Reading:
    """The collection as the caller's key may see it."""
    return collection.reading(caller(request).viewer)
