"""The review queue (curator role): what extraction proposed with low confidence or the ontology rejected,
each accepted or dismissed in one request (see ``service/review.py`` for what a decision does)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, Limit, Offset, ReadingDep, RuntimeDep
from api.http.runtime import Runtime
from api.http.schemas_curation import DecisionOut, ReviewEntity, ReviewItemOut, ReviewPageOut
from api.http.views import job_out
from service import review
from service.curation import CurationChange, curate_payload
from service.keys import ApiKey
from service.registry import Collection
from service.review import ReviewItem
from service.views import Reading


def _item_out(item: ReviewItem) -> ReviewItemOut:
    p = item.proposal
    return ReviewItemOut(item.id, p.kind, item.status, p.relation, ReviewEntity(p.head, p.head_name, p.head_type),
                         ReviewEntity(p.tail, p.tail_name, p.tail_type), p.confidence, p.doc_id, p.chunk_id, p.start,
                         p.end, p.sentence, item.decided_at, item.decided_by)


def _decide(runtime: Runtime, collection: Collection, reading: Reading, key: ApiKey, item_id: str,
            accept: bool) -> DecisionOut:
    def queue_job(change: CurationChange) -> Any:
        return runtime.jobs.create(collection.name, [], change.documents[:10_000], key.id, kind="curate",
                                   payload=curate_payload(change))

    done = review.decide(runtime.review, runtime.settings, collection.name, collection.store.graph,
                         reading.store.graph, runtime.audit, key, item_id, accept, queue_job)
    return DecisionOut(done.items, done.status, done.ontology_version,
                       job_out(done.job) if done.job is not None else None)


def _answer(collection: Collection, out: DecisionOut) -> Response[DecisionOut]:
    if out.job is None:
        return Response(out, status_code=HTTP_200_OK)
    location = f"/v1/collections/{collection.name}/jobs/{out.job.id}"
    return Response(out, status_code=HTTP_202_ACCEPTED, headers={"Location": location})


class ReviewController(Controller):
    """Proposals waiting for a curator's decision, and the decisions."""

    path = "/review"
    tags = ["curation"]

    @get("/", guards=[requires("curator")], summary="The review queue")
    async def list_items(
        self, collection: CollectionDep, reading: ReadingDep, runtime: RuntimeDep,
        status: Annotated[Literal["pending", "accepted", "dismissed"], QueryParameter()] = "pending",
        kind: Annotated[Literal["rejected", "low_confidence"] | None, QueryParameter(
            description="Only items of this kind.")] = None,
        offset: Offset = 0, limit: Limit = 50,
    ) -> ReviewPageOut:
        """Items of one status, lowest confidence first, with the counts of every kind and status."""
        found = await runtime.work.query(partial(runtime.review.page, collection.name, collection.store.graph,
                                                 reading.store.graph, status, kind, offset, limit))
        return ReviewPageOut([_item_out(i) for i in found.items], found.offset, found.limit, found.total,
                             found.counts)

    @post("/{item_id:str}/accept", guards=[requires("curator")], status_code=HTTP_202_ACCEPTED,
          summary="Accept a proposal")
    async def accept(self, item_id: FromPath[str], request: Request[Any, Any, Any], collection: CollectionDep,
                     reading: ReadingDep, runtime: RuntimeDep) -> Response[DecisionOut]:
        """A low-confidence relation is kept with confidence 1.0; a rejected one widens the ontology (a new
        version) and accepts every pending item rejected for the same reason. 202 with the ``curate`` job that
        extracts the documents again; 409 when the item is decided already."""
        out = await runtime.work.query(_decide, runtime, collection, reading, caller(request), item_id, True)
        return _answer(collection, out)

    @post("/{item_id:str}/dismiss", guards=[requires("curator")], status_code=HTTP_200_OK,
          summary="Dismiss a proposal")
    async def dismiss(self, item_id: FromPath[str], request: Request[Any, Any, Any], collection: CollectionDep,
                      reading: ReadingDep, runtime: RuntimeDep) -> Response[DecisionOut]:
        """A low-confidence relation is removed from the graph (202 with its ``curate`` job); a rejected one
        stays out (200, no job)."""
        out = await runtime.work.query(_decide, runtime, collection, reading, caller(request), item_id, False)
        return _answer(collection, out)
