"""Ingest jobs of a collection."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get
from litestar.params import FromPath

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, Limit, Offset, ReadingDep, RuntimeDep
from api.http.schemas import JobOut
from api.http.views import job_out
from service.keys import ApiKey


def _owner(key: ApiKey) -> str | None:
    """Whose jobs a key may see: a key that does not see every document sees the jobs it created and those
    that ingest no document with an ACL (a job names its files); their document lists show what it may see."""
    return None if key.viewer.sees_everything else key.id


class JobsController(Controller):
    """Poll ingest jobs: state, progress, per-file errors."""

    path = "/jobs"
    tags = ["documents"]

    @get("/", guards=[requires("reader")], summary="Recent ingest jobs")
    async def list_jobs(
        self, collection: CollectionDep, reading: ReadingDep, request: Request[Any, Any, Any], runtime: RuntimeDep,
        offset: Offset = 0, limit: Limit = 50,
    ) -> list[JobOut]:
        """Jobs of the collection, newest first (for a key restricted by principals, see the README)."""
        def load() -> list[JobOut]:
            return [job_out(j, reading) for j in runtime.jobs.recent(collection.name, offset, limit,
                                                                     _owner(caller(request)))]

        return await runtime.work.query(load)

    @get("/{job_id:str}", guards=[requires("reader")], summary="One ingest job")
    async def get_job(self, job_id: FromPath[str], collection: CollectionDep, reading: ReadingDep,
                      request: Request[Any, Any, Any], runtime: RuntimeDep) -> JobOut:
        """State (queued, running, succeeded, failed), progress and per-file errors."""
        owner = _owner(caller(request))
        return await runtime.work.query(lambda: job_out(runtime.jobs.get(collection.name, job_id, owner), reading))

    @delete("/{job_id:str}", guards=[requires("editor")], status_code=200, summary="Cancel an ingest job")
    async def cancel_job(self, job_id: FromPath[str], request: Request[Any, Any, Any], collection: CollectionDep,
                         runtime: RuntimeDep) -> JobOut:
        """A queued job is cancelled at once, a running one after its current batch (what it committed stays);
        409 when it has finished."""
        key = caller(request)

        def cancel() -> JobOut:
            runtime.jobs.get(collection.name, job_id, _owner(key))  # 404 for another's job, as for none
            job = runtime.jobs.cancel(collection.name, job_id)
            runtime.audit.record(key, collection.name, "job.cancel", job_id)
            return job_out(job)

        return await runtime.work.query(cancel)
