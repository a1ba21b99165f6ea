"""The data model shared by every store adapter.

Document -> Chunk -> Mention -> Entity; Relation joins two entities and keeps
the chunks that evidence it. Support is tracked per document so that deleting
a document removes exactly what it contributed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def stable_id(*parts: str, length: int = 16) -> str:
    """A short deterministic identifier derived from ``parts``."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()
    return digest[:length]


def describe_entity(entity_type: str, passages: int, documents: int,
                    first: tuple[str, int, int] | None = None) -> str:
    """An entity's description, the same in every store: its type, how many passages and documents mention it,
    and the sentence of its first mention (``first``: a chunk's text and the mention's span in it), at most
    240 characters."""
    summary = f"{entity_type} mentioned in {passages} passage(s) of {documents} document(s)."
    if first is None:
        return summary
    text, start, end = first
    dot = text.rfind(". ", 0, start)
    lo = dot + 2 if dot >= 0 else 0
    hi_dot = text.find(". ", end)
    hi = hi_dot + 1 if hi_dot >= 0 else len(text)
    snippet = " ".join(text[lo:hi].split())
    snippet = snippet[:237] + "..." if len(snippet) > 240 else snippet
    return f'{summary} "{snippet}"'


@dataclass(frozen=True, slots=True)
class Document:
    """One source document (a file, or one record of a JSON/JSONL file)."""

    id: str
    source: str
    sha256: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    acl: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous span ``[start, end)`` of a document's text."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A surface form of an entity inside a chunk; span relative to the document."""

    chunk_id: str
    start: int
    end: int
    surface: str
    entity_id: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A canonical thing. ``aliases`` are the surface forms that name it.

    ``pinned``: a curator fixed its name and type; stores keep them instead of deriving
    the name from the most frequent surface, and keep only ``aliases`` as its names.
    """

    id: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class RelationEvidence:
    """One chunk (and sentence span within its document) that states a relation."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True, slots=True)
class Relation:
    """``head -[type]-> tail`` with its evidence; confidence is the best evidence's."""

    id: str
    head: str
    type: str
    tail: str
    confidence: float
    evidence: tuple[RelationEvidence, ...] = ()


def relation_id(head: str, rel_type: str, tail: str) -> str:
    """The identifier of a relation, the same in every adapter."""
    return stable_id(head, rel_type, tail)


@dataclass(frozen=True, slots=True)
class DocumentBundle:
    """Everything one document contributes, written atomically by the stores."""

    document: Document
    chunks: tuple[Chunk, ...]
    entities: tuple[Entity, ...]
    mentions: tuple[Mention, ...]
    relations: tuple[Relation, ...]
    chunk_vectors: Any  # numpy array (n_chunks, dim), float32, L2-normalised
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An entity adjacent to another through one relation."""

    relation: Relation
    entity: Entity
    direction: str  # "out" (entity is the tail) or "in" (entity is the head)


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts of what a store holds."""

    documents: int
    chunks: int
    entities: int
    relations: int
    mentions: int


@dataclass(frozen=True, slots=True)
class TypeCensus:
    """How many entities of each type, and relations of each (relation, head type, tail type), a store holds:
    what an ontology change is checked against."""

    entity_types: dict[str, int]
    relation_triples: dict[tuple[str, str, str], int]


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A chunk found by a vector or keyword search."""

    chunk_id: str
    doc_id: str
    score: float


@dataclass(frozen=True, slots=True)
class ScoredEntity:
    """An entity found by name, alias or vector similarity."""

    entity_id: str
    score: float


@dataclass(frozen=True, slots=True)
class GraphSnapshot:
    """Every row of a graph store but the texts, at one version: what a restricted view is computed from.

    Rows are plain tuples, each list sorted as given:
    - ``documents``: (id, source, sha256, title, metadata, acl) by id
    - ``chunks``: (id, doc_id, start, end) by id
    - ``entities``: (id, name, type, key, pinned) by id
    - ``aliases``: (entity_id, norm, surface, doc_id, count, type) by entity_id, surface, doc_id
    - ``mentions``: (chunk_id, doc_id, start, end, surface, entity_id) by doc_id, start, chunk_id, entity_id
    - ``relations``: (id, head, type, tail) by id
    - ``evidence``: (relation_id, chunk_id, doc_id, start, end, confidence) by relation_id, then
      confidence descending, chunk_id, doc_id, start
    """

    version: str
    documents: list[tuple[str, str, str, str, dict[str, Any], tuple[str, ...]]]
    chunks: list[tuple[str, str, int, int]]
    entities: list[tuple[str, str, str, str, bool]]
    aliases: list[tuple[str, str, str, str, int, str]]
    mentions: list[tuple[str, str, int, int, str, str]]
    relations: list[tuple[str, str, str, str]]
    evidence: list[tuple[str, str, str, int, int, float]]
