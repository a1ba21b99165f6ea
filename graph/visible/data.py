"""The rows one viewer may see, and what is derived from them alone.

Built from a :class:`GraphSnapshot` by dropping every row of a hidden document, then
deriving names, types, aliases, relation confidences and counts from what is left, in a
fixed order. Nothing here reads a hidden row, so the result (and every score computed
from it) is the same as for a store where the hidden documents were never ingested.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from graph.access import Viewer
from graph.model import Entity, GraphSnapshot, RelationEvidence

_UNTYPED = ("", "Thing")


@dataclass(slots=True)
class VisibleRelation:
    """A relation with its visible evidence (best first)."""

    id: str
    head: str
    type: str
    tail: str
    evidence: list[RelationEvidence]

    @property
    def confidence(self) -> float:
        """The best visible evidence's confidence."""
        return self.evidence[0].confidence


@dataclass(slots=True)
class VisibleData:
    """Everything a restricted view answers from (see the module docstring)."""

    version: str
    hidden_docs: frozenset[str]
    documents: dict[str, tuple[str, str, str, str, dict[str, object], tuple[str, ...]]]  # id -> row, by id
    chunks: dict[str, tuple[str, int, int]]  # chunk id -> (doc id, start, end)
    mentions: list[tuple[str, str, int, int, str, str]]  # by doc, start, chunk, entity
    entities: dict[str, Entity]  # visible entities, name/type/aliases from visible support (no description)
    keys: dict[str, str]  # entity id -> stored key (the normalised name it merged under)
    alias_norms: dict[str, set[str]]  # entity id -> visible alias norms
    aliases: list[tuple[str, str, str, str, int, str]]  # the visible alias rows, as the snapshot orders them
    relations: dict[str, VisibleRelation]
    by_entity: dict[str, list[str]] = field(default_factory=dict)  # entity id -> relation ids touching it
    mentions_by_entity: dict[str, list[tuple[str, str, int, int, str, str]]] = field(default_factory=dict)
    docs_by_entity: dict[str, set[str]] = field(default_factory=dict)
    total_chars: int = 0


def _name_and_type(rows: list[tuple[str, str, str, str, int, str]], key: str) -> tuple[str, str]:
    """The name (the surface matching the key first, then the most mentioned, longest, first) and the
    most mentioned type, of one entity's visible alias rows; the same rule as the stores' renaming."""
    by_surface: dict[str, list[int]] = {}
    for _, norm, surface, _, count, _ in rows:
        acc = by_surface.setdefault(surface, [0, 0])
        acc[0] = max(acc[0], int(norm == key))
        acc[1] += count
    name = min(by_surface, key=lambda s: (-by_surface[s][0], -by_surface[s][1], -len(s), s))
    types: Counter[str] = Counter()
    for *_, count, etype in rows:
        if etype not in _UNTYPED:
            types[etype] += count
    etype = min(types, key=lambda t: (-types[t], t)) if types else "Thing"
    return name, etype


def build(snapshot: GraphSnapshot, viewer: Viewer) -> VisibleData:
    """The part of ``snapshot`` that ``viewer`` may see."""
    hidden = frozenset(d[0] for d in snapshot.documents if not viewer.sees(d[5]))
    documents = {d[0]: d for d in snapshot.documents if d[0] not in hidden}
    chunks = {c[0]: (c[1], c[2], c[3]) for c in snapshot.chunks if c[1] in documents}
    mentions = [m for m in snapshot.mentions if m[1] in documents]
    mentions.sort(key=lambda m: (m[1], m[2], m[0], m[5], m[3], m[4]))
    aliases: dict[str, list[tuple[str, str, str, str, int, str]]] = defaultdict(list)
    for a in snapshot.aliases:
        if a[3] in documents:
            aliases[a[0]].append(a)
    mentions_by_entity: dict[str, list[tuple[str, str, int, int, str, str]]] = defaultdict(list)
    docs_by_entity: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        mentions_by_entity[m[5]].append(m)
        docs_by_entity[m[5]].add(m[1])
    for eid, rows in aliases.items():
        docs_by_entity[eid].update(a[3] for a in rows)
    entities: dict[str, Entity] = {}
    keys: dict[str, str] = {}
    norms: dict[str, set[str]] = {}
    for eid, name, etype, key, pinned in snapshot.entities:
        rows = aliases.get(eid, [])
        if not rows and eid not in mentions_by_entity:
            continue
        keys[eid] = key
        norms[eid] = {a[1] for a in rows if a[1]}
        counts: Counter[str] = Counter()
        for a in rows:
            counts[a[2]] += a[4]
        surfaces = tuple(sorted(counts, key=lambda s: (-counts[s], s)))
        if not pinned and rows:
            name, etype = _name_and_type(rows, key)
        elif not pinned:
            etype = "Thing"
        entities[eid] = Entity(eid, name, etype, surfaces, "", pinned)
    evidence: dict[str, list[RelationEvidence]] = defaultdict(list)
    for rid, cid, did, start, end, conf in snapshot.evidence:
        if did in documents:
            evidence[rid].append(RelationEvidence(cid, did, start, end, conf))
    relations: dict[str, VisibleRelation] = {}
    by_entity: dict[str, list[str]] = defaultdict(list)
    for rid, head, rtype, tail in snapshot.relations:
        found = evidence.get(rid)
        if not found or head not in entities or tail not in entities:
            continue
        found.sort(key=lambda v: (-v.confidence, v.chunk_id, v.doc_id, v.start))
        relations[rid] = VisibleRelation(rid, head, rtype, tail, found)
        by_entity[head].append(rid)
        if tail != head:
            by_entity[tail].append(rid)
    return VisibleData(
        version=snapshot.version, hidden_docs=hidden, documents=documents, chunks=chunks, mentions=mentions,
        entities=entities, keys=keys, alias_norms=norms,
        aliases=[a for a in snapshot.aliases if a[3] in documents and a[0] in entities], relations=relations,
        by_entity=dict(by_entity),
        mentions_by_entity=dict(mentions_by_entity), docs_by_entity=dict(docs_by_entity),
        total_chars=sum(end - start for _, start, end in chunks.values()),
    )
