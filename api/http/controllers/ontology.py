"""A collection's versioned ontology: read it (reader), replace it (curator)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, RuntimeDep
from api.http.schemas_curation import OntologyDiffOut, OntologyOut, OntologyVersionOut, TypeChangeOut
from service import ontology as curation
from service.ontology import OntologyDiff


def _diff_out(d: OntologyDiff) -> OntologyDiffOut:
    def changes(items: list[Any]) -> list[TypeChangeOut]:
        return [TypeChangeOut(c.name, c.added, c.removed) for c in items]

    return OntologyDiffOut(d.before, d.after, d.empty, d.entity_types_added, d.entity_types_removed,
                           changes(d.entity_types_changed), d.relation_types_added, d.relation_types_removed,
                           changes(d.relation_types_changed), d.aliases_changed)


class OntologyController(Controller):
    """Entity types, relation types (allowed head/tail types, triggers) and alias rules."""

    path = "/ontology"
    tags = ["curation"]

    @get("/", guards=[requires("reader")], summary="The ontology in force")
    async def get_ontology(self, collection: CollectionDep, runtime: RuntimeDep) -> OntologyOut:
        """The collection's own ontology, or the server's (``source``)."""
        found = await runtime.work.query(curation.in_force, runtime.settings, collection.name)
        return OntologyOut(found.ontology.version, found.source, found.ontology.model_dump())

    @get("/versions", guards=[requires("reader")], summary="The ontology's versions")
    async def list_versions(self, collection: CollectionDep, runtime: RuntimeDep) -> list[OntologyVersionOut]:
        """Every version the collection keeps (each accepted one, and the server's it replaced), newest first."""
        found = await runtime.work.query(curation.versions, runtime.settings, collection.name)
        return [OntologyVersionOut(v.version, v.source, v.current) for v in found]

    @get("/versions/{number:int}", guards=[requires("reader")], summary="One version of the ontology")
    async def get_version(self, number: FromPath[int], collection: CollectionDep, runtime: RuntimeDep) -> OntologyOut:
        """A kept version (404 when the collection keeps none by that number)."""
        found = await runtime.work.query(curation.version, runtime.settings, collection.name, number)
        now = await runtime.work.query(curation.in_force, runtime.settings, collection.name)
        source = now.source if now.ontology.version == number else "collection"
        return OntologyOut(found.version, source, found.model_dump())

    @get("/diff", guards=[requires("reader")], summary="What changed between two versions")
    async def diff_versions(
        self, collection: CollectionDep, runtime: RuntimeDep,
        before: Annotated[int, QueryParameter(name="from", ge=0, description="The older version.")],
        after: Annotated[int | None, QueryParameter(
            name="to", ge=0, description="The newer version (default: the one in force).")] = None,
    ) -> OntologyDiffOut:
        """Entity and relation types added, removed and changed (labels, head/tail types, triggers), alias rules."""
        def compare() -> OntologyDiffOut:
            return _diff_out(curation.compare(runtime.settings, collection.name, before, after))

        return await runtime.work.query(compare)

    @put("/", guards=[requires("curator")], summary="Replace the ontology",
         responses={409: ResponseSpec(dict[str, Any], description="The graph violates it (``violations``), or "
                                      "its version is not above the current one")})
    async def put_ontology(self, data: JSONBody[dict[str, Any]], request: Request[Any, Any, Any],
                           collection: CollectionDep, runtime: RuntimeDep) -> OntologyOut:
        """Accepted when its ``version`` is above the current one and the current graph conforms to it;
        later ingests type and check with it."""
        key = caller(request)

        def replace() -> OntologyOut:
            before, new = curation.replace(runtime.settings, collection.name, collection.store.graph, data)
            runtime.audit.record(key, collection.name, "ontology.replace", f"v{new.version}",
                                 before={"version": before.ontology.version, "source": before.source},
                                 after={"version": new.version})
            return OntologyOut(new.version, "collection", new.model_dump())

        return await runtime.work.query(replace)
