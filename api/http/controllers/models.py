"""The model registry (admin): list its entries, add one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from api.http.auth import caller, requires
from api.http.deps import RuntimeDep
from api.http.schemas import JobOut, ModelIn, ModelKind, ModelOut, PromoteIn, RolledBack
from api.http.views import job_accepted, job_out
from core.errors import InputError
from service import collections
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

    @post("/{kind:str}/promote", status_code=HTTP_202_ACCEPTED, summary="Promote a model through the gate (a job)")
    async def promote_model(self, kind: FromPath[ModelKind], data: JSONBody[PromoteIn], request: Request[Any, Any, Any],
                            runtime: RuntimeDep) -> Response[JobOut]:
        """Queue a ``promote`` job in ``collection`` (audited): the ingest worker evaluates the candidate against
        the model in use on the collection's ``golden.json`` and promotes it when the gate passes (or ``force``);
        the job's report holds the side-by-side figures, a refused gate fails it. Only readers can be promoted:
        an embedder is changed by a migration (``POST /v1/collections/{c}/embeddings/migrate``). 404 when there
        is no such collection."""
        key = caller(request)
        if kind != "reader":
            raise InputError(f"only readers are promoted; a new {kind} is migrated to "
                             "(POST /v1/collections/{collection}/embeddings/migrate)")

        def queue() -> JobOut:
            collections.require(runtime.settings, data.collection)
            job = runtime.jobs.create(data.collection, [], [], key.id, kind="promote",
                                      payload={"kind": kind, "name": data.name, "force": data.force})
            runtime.audit.record(key, data.collection, "model.promote.requested", f"{kind}:{data.name}",
                                 after={"job": job.id, "force": data.force})
            return job_out(job)

        return job_accepted(await runtime.work.query(queue))

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
