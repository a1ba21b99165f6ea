"""Reading the entity graph: search by name or alias, one entity with its neighbours and evidence,
the shortest relation path between two entities.

The CLI and the HTTP API shape these results; neither reads the graph itself. Blocking.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFoundError
from graph.model import Document, Entity, Neighbour, RelationEvidence
from graph.ports import GraphStore
from retrieval.graph_index import GraphIndex
from retrieval.types import PathEdge

MAX_EVIDENCE = 3
MAX_DOCUMENTS = 100


@dataclass(frozen=True, slots=True)
class EntityMatch:
    """An entity found by name or alias (1.0: exact)."""

    entity: Entity
    score: float


@dataclass(frozen=True, slots=True)
class Evidence:
    """A relation's evidence with its sentence."""

    evidence: RelationEvidence
    sentence: str


@dataclass(frozen=True, slots=True)
class NeighbourDetail:
    """A neighbour through one relation, with up to :data:`MAX_EVIDENCE` evidence sentences."""

    neighbour: Neighbour
    evidence: list[Evidence]


@dataclass(frozen=True, slots=True)
class EntityDetail:
    """An entity and its neighbours."""

    entity: Entity
    neighbours: list[NeighbourDetail]
    documents: list[tuple[str, str]]  # (id, title) of the documents that mention it, by id
    document_count: int


def search(graph: GraphStore, name: str, limit: int) -> list[EntityMatch]:
    """Entities whose name or alias matches ``name``, best first."""
    out: list[EntityMatch] = []
    for hit in graph.search_entities(name, limit):
        ent = graph.get_entity(hit.entity_id)
        if ent is not None:
            out.append(EntityMatch(ent, hit.score))
    return out


def detail(graph: GraphStore, entity_id: str, limit: int) -> EntityDetail:
    """The entity with up to ``limit`` neighbours and their evidence sentences, and the documents that
    mention it (the first :data:`MAX_DOCUMENTS` by id, and how many there are).

    Raises:
        NotFoundError: no such entity.
    """
    ent = graph.get_entity(entity_id)
    if ent is None:
        raise NotFoundError(f"no entity {entity_id!r}")
    docs: dict[str, Document | None] = {}
    neighbours: list[NeighbourDetail] = []
    for n in graph.neighbours(entity_id, limit):
        evidence: list[Evidence] = []
        for ev in n.relation.evidence[:MAX_EVIDENCE]:
            if ev.doc_id not in docs:
                docs[ev.doc_id] = graph.get_document(ev.doc_id)
            doc = docs[ev.doc_id]
            evidence.append(Evidence(ev, " ".join(doc.text[ev.start : ev.end].split()) if doc is not None else ""))
        neighbours.append(NeighbourDetail(n, evidence))
    doc_ids = graph.entity_documents([entity_id])
    titles = graph.document_titles(doc_ids[:MAX_DOCUMENTS])
    listed = [(d, titles.get(d, "")) for d in doc_ids[:MAX_DOCUMENTS]]
    return EntityDetail(ent, neighbours, listed, len(doc_ids))


def shortest_path(graph: GraphStore, index: GraphIndex, source: str, target: str, max_hops: int) -> list[PathEdge]:
    """The shortest relation path from ``source`` to ``target`` within ``max_hops`` ([] when none).

    ``index`` is the retriever's graph index over the same store (shared, not rebuilt).

    Raises:
        NotFoundError: either entity does not exist.
    """
    missing = [e for e in (source, target) if e not in graph.existing_entities([source, target])]
    if missing:
        raise NotFoundError(f"no entity {missing[0]!r}")
    a, b = index.entity_node.get(source), index.entity_node.get(target)
    if a is None or b is None:
        return []
    parents = index.shortest_paths([a], max_hops)
    if b not in parents:
        return []
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
    return edges
