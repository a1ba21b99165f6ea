"""A collection's vector spaces (admin): list them, migrate to another embedding model as a job, roll back; and
its golden set (curator), which those changes are gated on.

A migration is a ``migrate`` job run by the ingest worker (``service.embedding_migration``): it builds the new
vectors beside the ones in use while queries and ingest go on, gates them on the collection's ``golden.json``
and switches; poll the job (its report holds the gate's figures). Servers follow the switch within seconds.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, RuntimeDep
from api.http.schemas import EmbedderRolledBack, GoldenOut, JobOut, MigrateIn, SpaceOut, SpacesOut
from api.http.views import job_accepted, job_out
from service.embedding_migration import rollback
from service.golden import golden_count, save_golden
from service.vector_spaces import describe_spaces


class EmbeddingsController(Controller):
    """The collection's vectors and the embedding models that made them."""

    path = "/embeddings"
    tags = ["models"]
    guards = [requires("admin")]

    @get("/", summary="Vector spaces")
    async def spaces(self, collection: CollectionDep, runtime: RuntimeDep) -> SpacesOut:
        """The active space, the previous one and every space ingest keeps current."""
        record = await runtime.work.query(describe_spaces, collection.store)
        return SpacesOut(record.active, record.previous,
                         {k: SpaceOut(v.name, v.checksum, v.dimension, v.state) for k, v in record.spaces.items()})

    @post("/migrate", status_code=HTTP_202_ACCEPTED, summary="Migrate to another embedding model (a job)")
    async def migrate(self, data: JSONBody[MigrateIn], request: Request[Any, Any, Any], collection: CollectionDep,
                      runtime: RuntimeDep) -> Response[JobOut]:
        """Queue a ``migrate`` job (audited); 202 with the job. It fails when the gate refuses (its report says
        why; the new vectors are kept and kept current) unless ``force``."""
        key = caller(request)

        def queue() -> JobOut:
            job = runtime.jobs.create(collection.name, [], [], key.id, kind="migrate",
                                      payload={"model": data.model, "force": data.force})
            runtime.audit.record(key, collection.name, "model.migrate", f"embedder:{data.model}",
                                 after={"job": job.id, "force": data.force})
            return job_out(job)

        return job_accepted(await runtime.work.query(queue))

    @post("/rollback", status_code=200, summary="Roll back to the previous embedding model")
    async def rollback(self, request: Request[Any, Any, Any], collection: CollectionDep,
                       runtime: RuntimeDep) -> EmbedderRolledBack:
        """Switch back to the vectors in use before the last migration (kept current by ingest, so this takes
        seconds); audited. 409 when there is none."""
        key = caller(request)

        def back() -> EmbedderRolledBack:
            result = rollback(collection.settings, collection.store, collection.ontology, runtime.models.embedders)
            runtime.audit.record(key, collection.name, "model.rollback", f"embedder:{result.model}",
                                 after={"space": result.space})
            return EmbedderRolledBack(result.space, result.model, round(result.seconds, 3))

        return await runtime.work.query(back)


class GoldenController(Controller):
    """The collection's golden set (curator): the questions model changes are gated on."""

    path = "/golden"
    tags = ["models"]
    guards = [requires("curator")]

    @put("/", status_code=200, summary="Replace the golden set")
    async def put_golden(self, data: JSONBody[list[dict[str, Any]]], request: Request[Any, Any, Any],
                         collection: CollectionDep, runtime: RuntimeDep) -> GoldenOut:
        """The questions model changes in this collection are gated on (MuSiQue or HotpotQA items with their gold
        passages and answers); replaced atomically, audited. 400 naming the first bad item."""
        key = caller(request)

        def save() -> GoldenOut:
            count = save_golden(collection.settings, data)
            runtime.audit.record(key, collection.name, "golden.replace", "golden", after={"questions": count})
            return GoldenOut(count)

        return await runtime.work.query(save)

    @get("/", summary="The golden set's size")
    async def get_golden(self, collection: CollectionDep, runtime: RuntimeDep) -> GoldenOut:
        """How many golden questions the collection holds (0: none, so a migration needs ``force``)."""
        return GoldenOut(await runtime.work.query(golden_count, collection.settings))
