"""Entity curation (curator role): edit, merge, split.

Each request validates the change, stores it as curation records (every later ingest
applies them, so re-ingesting never undoes it), records it in the audit log and answers
202 with a ``curate`` job that extracts the touched documents again; poll the job, then
read the entity.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, RuntimeDep
from api.http.runtime import Runtime
from api.http.schemas_curation import CurationOut, CurationRecord, EntityPatch, MergeRequest, SplitRequest
from api.http.views import job_out
from service import curation
from service.curation import CurationChange, Plan, curate_payload
from service.jobs import Job
from service.keys import ApiKey
from service.registry import Collection


def _submit(runtime: Runtime, collection: Collection, key: ApiKey, plan: Plan) -> CurationOut:
    jobs: list[Job] = []

    def queue(change: CurationChange) -> dict[str, Any]:  # inside the change's all-or-nothing step
        if change.action == "curation.revert":  # a reverted review decision: its item is pending again
            for record, rule in change.before.items():
                if record.startswith("relation:"):
                    runtime.review.reopen(collection.name, record, rule)
        jobs.append(runtime.jobs.create(collection.name, [], change.documents[:10_000], key.id, kind="curate",
                                        payload=curate_payload(change)))
        return {"job": jobs[0].id}

    change = curation.submit(collection.store.graph, collection.ontology, plan, runtime.audit, key,
                             collection.name, after=queue)
    return CurationOut(change.action, change.after, job_out(jobs[0]))


def _accepted(collection: Collection, out: CurationOut) -> Response[CurationOut]:
    location = f"/v1/collections/{collection.name}/jobs/{out.job.id}"
    return Response(out, status_code=HTTP_202_ACCEPTED, headers={"Location": location})


class CurationController(Controller):
    """Rename, retype, alias, merge and split entities."""

    path = "/entities"
    tags = ["curation"]

    @patch("/{entity_id:str}", guards=[requires("curator")], status_code=HTTP_202_ACCEPTED,
           summary="Rename, retype or change the aliases of an entity")
    async def edit_entity(self, entity_id: FromPath[str], data: JSONBody[EntityPatch], request: Request[Any, Any, Any],
                          collection: CollectionDep, runtime: RuntimeDep) -> Response[CurationOut]:
        """Fields left out stay as they are. ``entity`` is the entity as it will be once the job is done."""
        key = caller(request)
        out = await runtime.work.query(_submit, runtime, collection, key, lambda c: c.edit(
            entity_id, name=data.name, type=data.type, add_aliases=data.add_aliases,
            remove_aliases=data.remove_aliases))
        return _accepted(collection, out)

    @post("/merge", guards=[requires("curator")], status_code=HTTP_202_ACCEPTED,
          summary="Merge entities into one")
    async def merge_entities(self, data: JSONBody[MergeRequest], request: Request[Any, Any, Any],
                             collection: CollectionDep, runtime: RuntimeDep) -> Response[CurationOut]:
        """Every mention, alias and relation of ``sources`` moves to ``target``, which keeps its id."""
        key = caller(request)
        out = await runtime.work.query(_submit, runtime, collection, key, lambda c: c.merge(
            data.sources, data.target, name=data.name, type=data.type))
        return _accepted(collection, out)

    @post("/{entity_id:str}/split", guards=[requires("curator")], status_code=HTTP_202_ACCEPTED,
          summary="Split mentions off an entity into a new one")
    async def split_entity(self, entity_id: FromPath[str], data: JSONBody[SplitRequest],
                           request: Request[Any, Any, Any], collection: CollectionDep,
                           runtime: RuntimeDep) -> Response[CurationOut]:
        """Mentions with one of ``surfaces`` and/or in one of ``documents`` move to a new entity named ``name``
        (its id is in ``entity.id``)."""
        key = caller(request)
        out = await runtime.work.query(_submit, runtime, collection, key, lambda c: c.split(
            entity_id, name=data.name, type=data.type, surfaces=data.surfaces, documents=data.documents))
        return _accepted(collection, out)


class CurationRecordsController(Controller):
    """The stored curation records: review them, revert one."""

    path = "/curation"
    tags = ["curation"]

    @get("/", guards=[requires("curator")], summary="Curation records in force")
    async def list_records(self, collection: CollectionDep, runtime: RuntimeDep) -> list[CurationRecord]:
        """Every edit, merge and split that ingest applies to this collection, by key."""
        rows = await runtime.work.query(curation.records, collection.store.graph, collection.ontology)
        return [CurationRecord(r["key"], r["kind"], r["entity"], r["rule"]) for r in rows]

    @delete("/{key:str}", guards=[requires("curator")], status_code=HTTP_202_ACCEPTED,
            summary="Revert a curation record")
    async def revert_record(self, key: FromPath[str], request: Request[Any, Any, Any], collection: CollectionDep,
                            runtime: RuntimeDep) -> Response[CurationOut]:
        """The record goes (a split takes its split-off entity's edit along); a ``curate`` job extracts the
        touched documents again, so the graph is as if the change had never been made."""
        out = await runtime.work.query(_submit, runtime, collection, caller(request), lambda c: c.revert(key))
        return _accepted(collection, out)
