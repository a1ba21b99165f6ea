"""The result shapes of retrieval, the same for every mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from retrieval.linking import LinkedEntity

MODES = ("dense", "keyword", "graph", "hybrid")


@dataclass(frozen=True, slots=True)
class PathEdge:
    """One relation on a path, with the chunk (and document span) that evidences it.

    ``forward`` is True when the path walks the relation from head to tail.
    """

    head_id: str
    head: str
    type: str
    tail_id: str
    tail: str
    evidence_chunk_id: str | None
    evidence_doc_id: str | None
    evidence_start: int | None
    evidence_end: int | None
    forward: bool = True


@dataclass(slots=True)
class Passage:
    """A retrieved chunk with its provenance and why it was retrieved."""

    chunk_id: str
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)  # per signal: dense, keyword, graph
    entities: list[str] = field(default_factory=list)  # linked question entities it mentions
    paths: list[list[PathEdge]] = field(default_factory=list)


@dataclass(slots=True)
class RetrievalResult:
    """Passages, best first, with the question's linked entities."""

    question: str
    mode: str
    passages: list[Passage]
    linked: list[LinkedEntity]
    latency_ms: float = 0.0
    embedding_model: str = ""  # the model whose vectors ranked the passages ("" where none did)
    query_vector: Any = None  # the question's embedding (a numpy row), for monitoring; never serialised
