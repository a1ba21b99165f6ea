"""A collection's vector spaces (admin): list them, migrate to another embedding model as a job, roll back.

A migration is a ``migrate`` job run by the ingest worker (``service.embedding_migration``): it builds the new
vectors beside the ones in use while queries and ingest go on, gates them on the collection's ``golden.json``
and switches; poll the job (its report holds the gate's figures). Servers follow the switch within seconds.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, RuntimeDep
from api.http.schemas import EmbedderRolledBack, JobOut, MigrateIn, SpaceOut, SpacesOut
from api.http.views import job_out
from service.embedding_migration import rollback
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

        out = await runtime.work.query(queue)
        return Response(out, status_code=HTTP_202_ACCEPTED,
                        headers={"Location": f"/v1/collections/{collection.name}/jobs/{out.id}"})

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
