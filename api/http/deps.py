"""Dependencies injected into handlers: the runtime and the caller's collection."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.params import FromPath

from api.http.auth import caller, check_collection
from api.http.runtime import Runtime
from api.registry import Collection


def provide_runtime(state: State) -> Runtime:
    """The running server's state."""
    runtime: Runtime = state.runtime
    return runtime


async def provide_collection(c: FromPath[str], request: Request[Any, Any, Any], runtime: Runtime) -> Collection:
    """The collection named in the path, if the caller's key covers it (404 otherwise), opened on first use."""
    check_collection(caller(request), c)
    found = runtime.registry.peek(c)
    return found if found is not None else await runtime.work.query(runtime.registry.get, c)
