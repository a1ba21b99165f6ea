"""Ingest jobs of a collection."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get
from litestar.params import FromPath

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, Limit, Offset, RuntimeDep
from api.http.schemas import JobOut
from api.http.views import job_out
from service.keys import ApiKey


def _owner(key: ApiKey) -> str | None:
    """Whose jobs a key may see: a key that does not see every document sees only the jobs it created
    (a job names the files and documents it ingests)."""
    return None if key.viewer.sees_everything else key.id


class JobsController(Controller):
    """Poll ingest jobs: state, progress, per-file errors."""

    path = "/jobs"
    tags = ["documents"]

    @get("/", guards=[requires("reader")], summary="Recent ingest jobs")
    async def list_jobs(
        self, collection: CollectionDep, request: Request[Any, Any, Any], runtime: RuntimeDep,
        offset: Offset = 0, limit: Limit = 50,
    ) -> list[JobOut]:
        """Jobs of the collection, newest first (a key restricted by principals: its own jobs only)."""
        jobs = await runtime.work.query(runtime.jobs.recent, collection.name, offset, limit, _owner(caller(request)))
        return [job_out(j) for j in jobs]

    @get("/{job_id:str}", guards=[requires("reader")], summary="One ingest job")
    async def get_job(self, job_id: FromPath[str], collection: CollectionDep, request: Request[Any, Any, Any],
                      runtime: RuntimeDep) -> JobOut:
        """State (queued, running, succeeded, failed), progress and per-file errors."""
        return job_out(await runtime.work.query(runtime.jobs.get, collection.name, job_id, _owner(caller(request))))

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
