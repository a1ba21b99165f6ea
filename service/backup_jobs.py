"""Backup and restore as jobs of the ingest worker (what ``POST /v1/backups`` and ``.../restore`` queue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.settings import Settings
from service import backup, restore
from service.backup_manifest import read_key
from service.jobs import Job


def run_backup_job(settings: Settings, job: Job, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    """Run a ``backup`` or ``restore`` job; returns its report.

    Raises:
        HopgraphError: the backup or restore failed (nothing half-done is left visible).
    """
    key = read_key(settings.backup_key_file)
    where = backup.root(settings)
    p = job.payload
    if job.kind == "backup":
        manifest, path = backup.create(settings, where, collections_=[str(c) for c in p.get("collections", [])],
                                       every=bool(p.get("all")), server_state=bool(p.get("server_state")), key=key,
                                       progress=progress)
        return {"backup": manifest.id, "entries": manifest.entries, "server_state": manifest.server_state,
                "signed": manifest.signature is not None,
                "bytes": sum(int(f["bytes"]) for f in manifest.files.values())}
    source = backup.find(where, str(p["backup"]))
    report = restore.restore(settings, source, collection=p.get("collection"), as_name=p.get("as"),
                             replace=bool(p.get("replace")), key=key, progress=progress)
    return {"backup": report.backup_id, "restored": report.restored}
