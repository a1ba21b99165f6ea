"""Domain objects -> response bodies. Functions that read a store are blocking (run them in a thread)."""

from __future__ import annotations

from litestar import Response
from litestar.status_codes import HTTP_202_ACCEPTED

from api.http.schemas import (
    AuditOut,
    CollectionOut,
    DocumentOut,
    DocumentRef,
    DocumentSummary,
    EntityBrief,
    EntityHit,
    EntityOut,
    EvidenceOut,
    FileError,
    JobOut,
    KeyOut,
    NeighbourOut,
    PathsOut,
    Progress,
)
from service import collections, entities
from service.access import Viewer
from service.audit import AuditEntry
from service.jobs import Job
from service.keys import ApiKey
from service.registry import Collection
from service.types import Document
from service.views import Reading


def job_out(job: Job, reading: Reading | None = None) -> JobOut:
    """The body of a job; with ``reading``, only the documents it shows (blocking then)."""
    docs = job.documents
    if reading is not None and not reading.viewer.sees_everything and docs:
        shown = reading.store.graph.document_hashes(docs)
        docs = [d for d in docs if d in shown]
    return JobOut(
        id=job.id, kind=job.kind, collection=job.collection, state=job.state, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at,
        progress=Progress(job.done, job.total, job.text_done, job.text_total),
        files=[p.removeprefix("files/") for p in job.paths], documents=docs,
        errors=[FileError(e["file"], e["reason"]) for e in job.errors], report=job.report, error=job.error,
        attempts=job.attempts,
    )


def key_out(key: ApiKey) -> KeyOut:
    """The body of a key (never its secret)."""
    return KeyOut(key.id, key.name, key.role, list(key.collections), key.created_at, key.revoked_at,
                  list(key.principals))


def audit_out(entry: AuditEntry) -> AuditOut:
    """The body of an audit entry."""
    return AuditOut(entry.seq, entry.at, entry.key_id, entry.key_name, entry.action, entry.target, entry.before,
                    entry.after)


def document_summary(c: Collection, doc: Document) -> DocumentSummary:
    """A document without its text."""
    return DocumentSummary(doc.id, doc.title, collections.public_source(c.settings.data_dir, doc.source), doc.sha256,
                           doc.metadata)


def document_out(c: Collection, doc: Document) -> DocumentOut:
    """A document with its text."""
    source = collections.public_source(c.settings.data_dir, doc.source)
    return DocumentOut(doc.id, doc.title, source, doc.sha256, doc.metadata, doc.text)


def collection_out(c: Collection, unfinished_jobs: int, viewer: Viewer) -> CollectionOut:
    """A collection's counts, of what ``viewer`` may see (blocking)."""
    s = c.reading(viewer).store.graph.stats()
    return CollectionOut(c.name, s.documents, s.chunks, s.entities, s.relations, s.mentions, unfinished_jobs)


def entity_hits(r: Reading, q: str, limit: int) -> list[EntityHit]:
    """Entities matching a name or alias (blocking)."""
    return [EntityHit(m.entity.id, m.entity.name, m.entity.type, m.score)
            for m in entities.search(r.store.graph, q, limit)]


def entity_view(r: Reading, entity_id: str, limit: int) -> EntityOut:
    """An entity with its neighbours and their evidence sentences (blocking).

    Raises:
        NotFoundError: no such entity.
    """
    found = entities.detail(r.store.graph, entity_id, limit)
    ent = found.entity
    neighbours = [
        NeighbourOut(d.neighbour.direction, d.neighbour.relation.id, d.neighbour.relation.type,
                     d.neighbour.relation.confidence,
                     EntityBrief(d.neighbour.entity.id, d.neighbour.entity.name, d.neighbour.entity.type),
                     [EvidenceOut(e.evidence.chunk_id, e.evidence.doc_id, e.evidence.start, e.evidence.end,
                                  e.evidence.confidence, e.sentence) for e in d.evidence])
        for d in found.neighbours
    ]
    return EntityOut(ent.id, ent.name, ent.type, list(ent.aliases), ent.description, ent.pinned, neighbours,
                     [DocumentRef(d, title) for d, title in found.documents], found.document_count)


def shortest_path(r: Reading, source: str, target: str, max_hops: int) -> PathsOut:
    """The shortest relation path from ``source`` to ``target`` within ``max_hops`` (blocking).

    Raises:
        NotFoundError: either entity does not exist.
    """
    edges = entities.shortest_path(r.store.graph, r.retriever.graph_index(), source, target, max_hops)
    return PathsOut(source, target, max_hops, [edges] if edges else [])


def job_accepted(job: JobOut) -> Response[JobOut]:
    """202 with the job's body and its ``Location``."""
    where = f"/v1/collections/{job.collection}/jobs/{job.id}" if job.collection else f"/v1/backups/jobs/{job.id}"
    return Response(job, status_code=HTTP_202_ACCEPTED, headers={"Location": where})
