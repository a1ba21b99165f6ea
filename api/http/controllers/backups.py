"""Backups (admin): take one as a job, list them, restore one as a job (``service.backup``, ``service.restore``).

Backup and restore jobs are server-wide (their ``collection`` is empty) and run in the ingest worker, one job at
a time; poll ``GET /v1/backups/jobs/{id}``. Backups go to the server's backup directory (``backup_dir``, default
``DATA_DIR/backups``), are signed when ``backup_key_file`` is set, and are verified before every restore.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.http.auth import caller, requires
from api.http.deps import RuntimeDep
from api.http.schemas import BackupIn, BackupOut, JobOut, RestoreIn
from api.http.views import job_accepted, job_out
from core.errors import InputError
from service import backup as backups
from service import collections
from service.backup_manifest import Manifest
from service.jobs import SERVER_JOBS


def _out(m: Manifest) -> BackupOut:
    return BackupOut(m.id, m.created_at, sum(int(f["bytes"]) for f in m.files.values()), len(m.files), m.entries,
                     m.server_state, m.signature is not None, m.hopgraph_version)


class BackupsController(Controller):
    """Consistent, verified backups of collections and server state."""

    path = "/v1/backups"
    tags = ["operations"]
    guards = [requires("admin")]

    @post("/", status_code=HTTP_202_ACCEPTED, summary="Take a backup (a job)")
    async def create(self, data: JSONBody[BackupIn], request: Request[Any, Any, Any],
                     runtime: RuntimeDep) -> Response[JobOut]:
        """Queue a ``backup`` job (audited); 202 with the job. Ingest and queries go on while it runs; its report
        holds the backup's id and counts. 404 when a named collection does not exist."""
        key = caller(request)
        if data.all and data.collections:
            raise InputError("'all' and 'collections' exclude each other", field="collections")
        if not data.all and not data.collections:
            raise InputError("name 'collections' or set 'all'", field="collections")

        def queue() -> JobOut:
            for name in data.collections:
                collections.require(runtime.settings, name)
            payload = {"collections": list(data.collections), "all": data.all, "server_state": data.server_state}
            job = runtime.jobs.create(SERVER_JOBS, [], [], key.id, kind="backup", payload=payload)
            runtime.audit.record(key, None, "backup.create", job.id, after=payload)
            return job_out(job)

        return job_accepted(await runtime.work.query(queue))

    @get("/", summary="Backups")
    async def list_backups(self, runtime: RuntimeDep) -> list[BackupOut]:
        """The backups in the server's backup directory, newest first (manifests read, not re-hashed)."""
        return await runtime.work.query(lambda: [_out(m) for m in backups.listing(backups.root(runtime.settings))])

    @post("/{backup_id:str}/restore", status_code=HTTP_202_ACCEPTED, summary="Restore a backup (a job)")
    async def restore(self, backup_id: FromPath[str], data: JSONBody[RestoreIn], request: Request[Any, Any, Any],
                      runtime: RuntimeDep) -> Response[JobOut]:
        """Queue a ``restore`` job (audited); 202 with the job. The backup is verified first; each collection is
        built complete beside the current one and switched in only then (``replace``), so queries see the old
        collection until the switch and the new one after. 404 for no such backup, 409 (in the job) when a
        target exists and ``replace`` is not set."""
        key = caller(request)

        def queue() -> JobOut:
            backups.find(backups.root(runtime.settings), backup_id)
            payload = {"backup": backup_id, "collection": data.collection, "as": data.as_, "replace": data.replace}
            job = runtime.jobs.create(SERVER_JOBS, [], [], key.id, kind="restore", payload=payload)
            runtime.audit.record(key, data.as_ or data.collection, "backup.restore", backup_id,
                                 after={**payload, "job": job.id})
            return job_out(job)

        return job_accepted(await runtime.work.query(queue))

    @get("/jobs/{job_id:str}", summary="A backup or restore job")
    async def job(self, job_id: FromPath[str], runtime: RuntimeDep) -> JobOut:
        """State, progress and report of a backup or restore job."""
        return await runtime.work.query(lambda: job_out(runtime.jobs.get(SERVER_JOBS, job_id)))
