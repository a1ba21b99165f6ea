"""The audit log: a collection's entries (curators), server-wide entries (admins)."""

from __future__ import annotations

from litestar import Controller, get

from api.http.auth import requires
from api.http.deps import CollectionDep, Limit, Offset, RuntimeDep
from api.http.schemas import AuditOut
from api.http.views import audit_out


class AuditController(Controller):
    """Who changed what in the collection, when, before and after."""

    path = "/audit"
    tags = ["curation"]

    @get("/", guards=[requires("curator")], summary="Audit log, newest first")
    async def list_audit(
        self, collection: CollectionDep, runtime: RuntimeDep,
        offset: Offset = 0, limit: Limit = 50,
    ) -> list[AuditOut]:
        """Ingest jobs queued, documents deleted, collection changes, with the key that made them."""
        entries = await runtime.work.query(runtime.audit.recent, collection.name, offset, limit)
        return [audit_out(e) for e in entries]


class ServerAuditController(Controller):
    """Server-wide changes: keys created and revoked, and changes made with the CLI."""

    path = "/v1/audit"
    tags = ["keys"]
    guards = [requires("admin")]

    @get("/", summary="Server-wide audit log, newest first")
    async def list_server_audit(
        self, runtime: RuntimeDep,
        offset: Offset = 0, limit: Limit = 50,
    ) -> list[AuditOut]:
        """Entries that belong to no collection, with the key (or CLI user) that made them."""
        entries = await runtime.work.query(runtime.audit.recent, None, offset, limit)
        return [audit_out(e) for e in entries]
