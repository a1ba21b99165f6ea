"""Domain objects -> response bodies. Functions that read a store are blocking (run them in a thread)."""

from __future__ import annotations

from api import collections
from api.audit import AuditEntry
from api.http.schemas import (
    AuditOut,
    CollectionOut,
    DocumentOut,
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
from api.jobs import Job
from api.keys import ApiKey
from api.registry import Collection
from core.errors import NotFoundError
from graph.model import Document
from retrieval.types import PathEdge

MAX_EVIDENCE = 3


def job_out(job: Job) -> JobOut:
    """The body of a job."""
    return JobOut(
        id=job.id, kind=job.kind, collection=job.collection, state=job.state, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at, progress=Progress(job.done, job.total),
        files=[p.removeprefix("files/") for p in job.paths], documents=job.documents,
        errors=[FileError(e["file"], e["reason"]) for e in job.errors], report=job.report, error=job.error,
        attempts=job.attempts,
    )


def key_out(key: ApiKey) -> KeyOut:
    """The body of a key (never its secret)."""
    return KeyOut(key.id, key.name, key.role, list(key.collections), key.created_at, key.revoked_at)


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


def collection_out(c: Collection, unfinished_jobs: int) -> CollectionOut:
    """A collection's counts (blocking)."""
    s = c.store.graph.stats()
    return CollectionOut(c.name, s.documents, s.chunks, s.entities, s.relations, s.mentions, unfinished_jobs)


def entity_hits(c: Collection, q: str, limit: int) -> list[EntityHit]:
    """Entities matching a name or alias (blocking)."""
    graph = c.store.graph
    out: list[EntityHit] = []
    for hit in graph.search_entities(q, limit):
        ent = graph.get_entity(hit.entity_id)
        if ent is not None:
            out.append(EntityHit(ent.id, ent.name, ent.type, hit.score))
    return out


def entity_view(c: Collection, entity_id: str, limit: int) -> EntityOut:
    """An entity with its neighbours and their evidence sentences (blocking).

    Raises:
        NotFoundError: no such entity.
    """
    graph = c.store.graph
    ent = graph.get_entity(entity_id)
    if ent is None:
        raise NotFoundError(f"no entity {entity_id!r}")
    docs: dict[str, Document | None] = {}
    neighbours: list[NeighbourOut] = []
    for n in graph.neighbours(entity_id, limit):
        evidence: list[EvidenceOut] = []
        for ev in n.relation.evidence[:MAX_EVIDENCE]:
            if ev.doc_id not in docs:
                docs[ev.doc_id] = graph.get_document(ev.doc_id)
            doc = docs[ev.doc_id]
            text = " ".join(doc.text[ev.start : ev.end].split()) if doc is not None else ""
            evidence.append(EvidenceOut(ev.chunk_id, ev.doc_id, ev.start, ev.end, ev.confidence, text))
        neighbours.append(NeighbourOut(n.direction, n.relation.id, n.relation.type, n.relation.confidence,
                                       EntityBrief(n.entity.id, n.entity.name, n.entity.type), evidence))
    return EntityOut(ent.id, ent.name, ent.type, list(ent.aliases), ent.description, ent.pinned, neighbours)


def shortest_path(c: Collection, source: str, target: str, max_hops: int) -> PathsOut:
    """The shortest relation path from ``source`` to ``target`` within ``max_hops`` (blocking).

    Raises:
        NotFoundError: either entity does not exist.
    """
    graph = c.store.graph
    missing = [e for e in (source, target) if e not in graph.existing_entities([source, target])]
    if missing:
        raise NotFoundError(f"no entity {missing[0]!r}")
    index, _ = c.retriever._indexes()  # noqa: SLF001 - the retriever's graph index, shared rather than rebuilt
    a, b = index.entity_node.get(source), index.entity_node.get(target)
    if a is None or b is None:
        return PathsOut(source, target, max_hops, [])
    parents = index.shortest_paths([a], max_hops)
    if b not in parents:
        return PathsOut(source, target, max_hops, [])
    steps = index.path_to(parents, b)
    ids = sorted({index.entity_ids[n] for _, e in steps for n in (e.head, e.tail)} | {source})
    names = {ent.id: ent.name for eid in ids if (ent := graph.get_entity(eid)) is not None}
    evidence = {r.id: (r.evidence[0] if r.evidence else None) for r in graph.relations_between(ids)}
    edges: list[PathEdge] = []
    for start, e in steps:
        h, t = index.entity_ids[e.head], index.entity_ids[e.tail]
        ev = evidence.get(e.relation_id)
        edges.append(PathEdge(h, names.get(h, h), e.type, t, names.get(t, t), ev.chunk_id if ev else None,
                              ev.doc_id if ev else None, ev.start if ev else None, ev.end if ev else None,
                              e.head == start))
    return PathsOut(source, target, max_hops, [edges] if edges else [])
