"""A collection's versioned ontology: read it (reader), replace it (curator)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, RuntimeDep
from api.http.schemas import OntologyOut
from service import ontology as curation


class OntologyController(Controller):
    """Entity types, relation types (allowed head/tail types, triggers) and alias rules."""

    path = "/ontology"
    tags = ["curation"]

    @get("/", guards=[requires("reader")], summary="The ontology in force")
    async def get_ontology(self, collection: CollectionDep, runtime: RuntimeDep) -> OntologyOut:
        """The collection's own ontology, or the server's (``source``)."""
        found = await runtime.work.query(curation.in_force, runtime.settings, collection.name)
        return OntologyOut(found.ontology.version, found.source, found.ontology.model_dump())

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
