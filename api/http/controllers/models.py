"""The model registry (admin): list its entries, add one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.http.auth import caller, requires
from api.http.deps import RuntimeDep
from api.http.schemas import ModelIn, ModelKind, ModelOut, RolledBack
from service.model_lifecycle import rollback
from service.model_registry import ModelEntry, ModelRegistry


def _out(e: ModelEntry) -> ModelOut:
    return ModelOut(e.kind, e.name, e.version, e.source, e.sha256, e.size, e.licence, e.added_at)


class ModelsController(Controller):
    """Every embedder, reader and spaCy pipeline the site uses, with versions and checksums."""

    path = "/v1/models"
    tags = ["models"]
    guards = [requires("admin")]

    @get("/", summary="Registry entries")
    async def list_models(self, runtime: RuntimeDep) -> list[ModelOut]:
        """Every version of every model (the packaged ones are entered on first use)."""
        def load() -> list[ModelOut]:
            registry = ModelRegistry(runtime.db)
            registry.seed(runtime.settings)
            return [_out(e) for e in registry.entries()]

        return await runtime.work.query(load)

    @post("/", status_code=HTTP_201_CREATED, summary="Add a model")
    async def add_model(self, data: JSONBody[ModelIn], request: Request[Any, Any, Any],
                        runtime: RuntimeDep) -> ModelOut:
        """Enter the model at ``path`` on the server's disk (hashed now); a changed file under a known name is its
        next version; audited. 400 when nothing usable is there."""
        key = caller(request)

        def add() -> ModelOut:
            entry = ModelRegistry(runtime.db).add(data.kind, Path(data.path), data.name, data.licence)
            runtime.audit.record(key, None, "model.add", f"{entry.kind}:{entry.name}",
                                 after={"version": entry.version, "sha256": entry.sha256, "source": entry.source})
            return _out(entry)

        return await runtime.work.query(add)

    @post("/{kind:str}/rollback", status_code=200, summary="Roll back to the previous model")
    async def rollback_model(self, kind: FromPath[ModelKind], request: Request[Any, Any, Any],
                             runtime: RuntimeDep) -> RolledBack:
        """Make the model of ``kind`` in use before the last promotion the one in use again (audited); every
        server worker switches within seconds. 409 when nothing was promoted."""
        key = caller(request)

        def back() -> RolledBack:
            was, now = rollback(runtime.db, runtime.audit, key, kind)
            return RolledBack(kind, was, now)

        return await runtime.work.query(back)
