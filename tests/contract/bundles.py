"""Small hand-built DocumentBundles with deterministic unit vectors (no models).

The world: d1 and d2 share Acme (an Organization) and the relation
alice -FOUNDED-> acme; Paris is a 'Thing' in d1 and a Location in d2; d3 is
unrelated. Every chunk's vector is a deterministic random unit vector, so a
search with a chunk's own vector finds that chunk first with score ~1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from graph.model import Chunk, Document, DocumentBundle, Entity, Mention, Relation, RelationEvidence, relation_id

DIM = 8

NAMES = {
    "alice": ("Alice Smith", "Person"),
    "acme": ("Acme Corp", "Organization"),
    "bob": ("Bob Jones", "Person"),
    "paris": ("Paris", "Thing"),
    "rocket": ("Falcon Rocket", "Product"),
    "carol": ("Carol White", "Person"),
    "zed": ("Zed Zebra", "Person"),
}


def unit_vector(seed_text: str, dim: int = DIM) -> npt.NDArray[np.float32]:
    """A deterministic random unit vector derived from ``seed_text``."""
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


@dataclass
class Spec:
    """A document: sentences (one chunk each), mentions, relations."""

    doc_id: str
    sentences: list[str]
    # (chunk index, surface, entity id)
    mentions: list[tuple[int, str, str]] = field(default_factory=list)
    # (head, type, tail, [(chunk index, confidence)])
    relations: list[tuple[str, str, str, list[tuple[int, float]]]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # entity type overrides
    source: str | None = None
    version: str = "v1"


def build(spec: Spec) -> DocumentBundle:
    """The bundle of ``spec``: chunk ids ``{doc}-c{i}``, spans into the joined text."""
    text = " ".join(spec.sentences)
    chunks: list[Chunk] = []
    pos = 0
    for i, sentence in enumerate(spec.sentences):
        chunks.append(Chunk(f"{spec.doc_id}-c{i}", spec.doc_id, pos, pos + len(sentence), sentence))
        pos += len(sentence) + 1
    mentions = []
    for ci, surface, eid in spec.mentions:
        c = chunks[ci]
        at = c.text.index(surface)
        mentions.append(Mention(c.id, c.start + at, c.start + at + len(surface), surface, eid))
    entity_ids = list(dict.fromkeys(m.entity_id for m in mentions))
    entities = []
    for eid in entity_ids:
        name, etype = NAMES[eid]
        entities.append(Entity(eid, name, spec.types.get(eid, etype)))
    relations = []
    for head, rtype, tail, evidence in spec.relations:
        ev = tuple(
            RelationEvidence(chunks[ci].id, spec.doc_id, chunks[ci].start, chunks[ci].end, conf)
            for ci, conf in evidence
        )
        relations.append(Relation(relation_id(head, rtype, tail), head, rtype, tail, max(e.confidence for e in ev), ev))
    sha = hashlib.sha256(f"{spec.version}:{text}".encode()).hexdigest()
    doc = Document(
        spec.doc_id, spec.source or f"/corpus/{spec.doc_id}.txt", sha, f"Title {spec.doc_id}", text,
        {"lang": "en", "n": len(chunks)}, ("team-a",),
    )
    vectors = np.stack([unit_vector(f"{spec.version}:{c.id}") for c in chunks])
    return DocumentBundle(doc, tuple(chunks), tuple(entities), tuple(mentions), tuple(relations), vectors)


def d1() -> DocumentBundle:
    """Alice founded Acme in Paris; Acme hired Bob."""
    return build(Spec(
        "d1",
        ["Alice Smith founded Acme Corp in Paris.", "Acme Corp hired Bob Jones last spring."],
        mentions=[(0, "Alice Smith", "alice"), (0, "Acme Corp", "acme"), (0, "Paris", "paris"),
                  (1, "Acme Corp", "acme"), (1, "Bob Jones", "bob")],
        relations=[("alice", "FOUNDED", "acme", [(0, 0.9)]), ("acme", "EMPLOYS", "bob", [(1, 0.7)])],
    ))


def d2() -> DocumentBundle:
    """Acme (short name) launched a rocket from Paris, now a Location; Alice started Acme."""
    return build(Spec(
        "d2",
        ["Acme launched the Falcon Rocket from Paris.", "Alice Smith started Acme years ago."],
        mentions=[(0, "Acme", "acme"), (0, "Falcon Rocket", "rocket"), (0, "Paris", "paris"),
                  (1, "Alice Smith", "alice"), (1, "Acme", "acme")],
        relations=[("acme", "PRODUCES", "rocket", [(0, 0.8)]), ("alice", "FOUNDED", "acme", [(1, 0.6)])],
        types={"paris": "Location"},
    ))


def d3() -> DocumentBundle:
    """Unrelated: Carol and Zed, keyword-rich text."""
    return build(Spec(
        "d3",
        ["Carol White studies zebras in the savanna.", "Zed Zebra met Carol White at the zoo."],
        mentions=[(0, "Carol White", "carol"), (1, "Zed Zebra", "zed"), (1, "Carol White", "carol")],
        relations=[("zed", "KNOWS", "carol", [(1, 0.5)])],
    ))


def d1_v2() -> DocumentBundle:
    """d1 rewritten: Bob is gone, Carol joins; Alice still founded Acme."""
    return build(Spec(
        "d1",
        ["Alice Smith founded Acme Corp.", "Carol White joined Acme Corp."],
        mentions=[(0, "Alice Smith", "alice"), (0, "Acme Corp", "acme"), (1, "Carol White", "carol"),
                  (1, "Acme Corp", "acme")],
        relations=[("alice", "FOUNDED", "acme", [(0, 0.95)])],
        version="v2",
    ))


def entity_vectors(ids: Sequence[str]) -> npt.NDArray[np.float32]:
    """Deterministic unit vectors for entity ids."""
    return np.stack([unit_vector(f"entity:{e}") for e in ids]) if ids else np.zeros((0, DIM), np.float32)


def entity_ids(*bundles: DocumentBundle) -> list[str]:
    """The entity ids of ``bundles``, in order, without repeats."""
    return list(dict.fromkeys(e.id for b in bundles for e in b.entities))
