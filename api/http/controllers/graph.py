"""The entity graph of a collection: search, entity details, paths."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from api.http.auth import requires
from api.http.deps import ReadingDep, RuntimeDep
from api.http.schemas import EntityHit, EntityOut, PathsOut
from api.http.views import entity_hits, entity_view, shortest_path


class GraphController(Controller):
    """Entities with their aliases, neighbours and evidence; relation paths between entities."""

    path = "/"
    tags = ["graph"]

    @get("/entities", guards=[requires("reader")], summary="Find entities by name or alias")
    async def search_entities(
        self, reading: ReadingDep, runtime: RuntimeDep,
        q: Annotated[str, QueryParameter(min_length=1, max_length=500, description="A name or alias.")],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
    ) -> list[EntityHit]:
        """Exact name/alias matches score 1.0, prefix matches less."""
        return await runtime.work.query(entity_hits, reading, q, limit)

    @get("/entities/{entity_id:str}", guards=[requires("reader")], summary="One entity")
    async def get_entity(
        self, entity_id: FromPath[str], reading: ReadingDep, runtime: RuntimeDep,
        limit: Annotated[int, QueryParameter(ge=1, le=200, description="Neighbours to return.")] = 20,
    ) -> EntityOut:
        """Aliases, type, description, and neighbours with relation types and evidence sentences."""
        return await runtime.work.query(entity_view, reading, entity_id, limit)

    @get("/paths", guards=[requires("reader")], summary="Shortest relation path between two entities")
    async def paths(
        self, reading: ReadingDep, runtime: RuntimeDep,
        source: Annotated[str, QueryParameter(name="from", min_length=1,
                                               description="Entity id where the path starts.")],
        target: Annotated[str, QueryParameter(name="to", min_length=1, description="Entity id where it ends.")],
        max_hops: Annotated[int, QueryParameter(ge=1, le=6)] = 3,
    ) -> PathsOut:
        """Each edge carries its relation type and the chunk (and span) that evidences it."""
        return await runtime.work.query(shortest_path, reading, source, target, max_hops)
