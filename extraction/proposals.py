"""What extraction proposes for a curator's review: relations the ontology rejected, and relations it
stored with low confidence (an untyped verb link, ``RELATED_TO``).

Each proposal names its document, the sentence that states it and both entities, and has a stable id
(the same document, kind and relation give the same id), so that extracting a document again proposes
the same items and a decision made on one is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.model import DocumentBundle, Entity, Relation, stable_id
from graph.ontology import COOCCURRENCE_RELATION

KINDS = ("rejected", "low_confidence")
MAX_SENTENCE = 600


def proposal_id(doc_id: str, kind: str, head: str, relation: str, tail: str) -> str:
    """The id of a proposal: the same for the same document, kind and relation."""
    return stable_id("proposal", doc_id, kind, head, relation, tail)


@dataclass(frozen=True, slots=True)
class Proposal:
    """``head -[relation]-> tail`` as extraction proposed it in one document."""

    kind: str  # one of KINDS
    doc_id: str
    chunk_id: str
    start: int  # the sentence, in the document's text
    end: int
    sentence: str
    head: str
    head_name: str
    head_type: str
    relation: str
    tail: str
    tail_name: str
    tail_type: str
    confidence: float

    @property
    def id(self) -> str:
        """Stable across extractions of the same document."""
        return proposal_id(self.doc_id, self.kind, self.head, self.relation, self.tail)


def _proposal(kind: str, bundle: DocumentBundle, entities: dict[str, Entity], rel: Relation) -> Proposal | None:
    head, tail = entities.get(rel.head), entities.get(rel.tail)
    if head is None or tail is None or not rel.evidence:
        return None
    ev = rel.evidence[0]
    sentence = " ".join(bundle.document.text[ev.start : ev.end].split())[:MAX_SENTENCE]
    return Proposal(kind, bundle.document.id, ev.chunk_id, ev.start, ev.end, sentence, head.id, head.name, head.type,
                    rel.type, tail.id, tail.name, tail.type, rel.confidence)


def proposals_of(bundle: DocumentBundle, rejected: Sequence[Relation], below: float) -> list[Proposal]:
    """The review items of one written document: ``rejected`` relations, and stored relations whose
    confidence is under ``below`` (co-occurrence edges are weak by design and never proposed)."""
    entities = {e.id: e for e in bundle.entities}
    found = [_proposal("rejected", bundle, entities, r) for r in rejected]
    found += [_proposal("low_confidence", bundle, entities, r) for r in bundle.relations
              if r.confidence < below and r.type != COOCCURRENCE_RELATION]
    return [p for p in found if p is not None]
