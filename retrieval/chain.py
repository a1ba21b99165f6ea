"""Answering by following the question's relations through the graph.

"Who founded the company that owns Baltia Lines?" names two relations of the ontology
(``owns`` -> OWNS, ``founded`` -> FOUNDED) and one entity. Starting from the linked entity,
the relation named nearest to it is followed first, then the next, each in either
direction: Baltia Lines -OWNS- Northwind Holdings -FOUNDED- Ilse Marnik. The entity reached
at the end (of the type the question asks for) is the answer, and the evidence of each
relation on the way is its proof.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graph.model import Relation, RelationEvidence
from graph.ontology import Ontology
from graph.ports import GraphStore
from retrieval.linking import LinkedEntity

_WORD = re.compile(r"[a-z][a-z-]*")
# irregular forms of trigger verbs (the ontology lists lemmas)
_IRREGULAR = {
    "bear": ("born",), "buy": ("bought",), "make": ("made",), "build": ("built",), "write": ("wrote", "written"),
    "take": ("took", "taken"), "lead": ("led",), "run": ("ran",), "sing": ("sang", "sung"), "draw": ("drew", "drawn"),
    "begin": ("began", "begun"), "teach": ("taught",), "win": ("won",), "hold": ("held",), "die": ("died", "dead"),
}
# trigger words too common in questions to name a relation
_GENERIC = frozenset({
    "in", "of", "at", "for", "from", "with", "be", "start", "form", "record", "star", "edit", "head", "run", "hold",
    "attend", "take", "play", "sign", "serve", "work", "include", "lie", "part", "city", "county", "district",
    "division", "air", "occur",
})
MAX_FRONTIER = 10
MAX_NEIGHBOURS = 60


def _forms(lemma: str) -> set[str]:
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    forms = {lemma, lemma + "s", stem + "ed", stem + "es", stem + "ing", stem + "er", stem + "ers"}
    forms |= set(_IRREGULAR.get(lemma, ()))
    if re.fullmatch(r"[a-z]*[^aeiou][aeiou][bdgmnprt]", lemma):  # stop -> stopped
        forms |= {lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    return forms


@dataclass(frozen=True, slots=True)
class Hop:
    """One relation followed: from ``source`` to ``target``."""

    source: str
    target: str
    relation: Relation


@dataclass(frozen=True, slots=True)
class ChainAnswer:
    """The entity a chain of relations leads to, with the hops that prove it."""

    entity_id: str
    name: str
    type: str
    score: float
    hops: tuple[Hop, ...]


class ChainReader:
    """Finds the ontology relations a question names, and follows them from its linked entities."""

    def __init__(self, ontology: Ontology) -> None:
        self._cues: dict[str, str] = {}
        for rtype, spec in ontology.relation_types.items():  # ontology order: the first type to claim a form keeps it
            for trigger in spec.triggers:
                head = trigger.split()[0]
                if head in _GENERIC:
                    continue
                for form in _forms(head):
                    self._cues.setdefault(form, rtype)

    def relations_in(self, question: str) -> list[tuple[int, str]]:
        """(character position, relation type) of each relation the question names, in order."""
        words = _WORD.finditer(question.lower())
        return [(m.start(), self._cues[m.group(0)]) for m in words if m.group(0) in self._cues]

    def answer(
        self, question: str, linked: Sequence[LinkedEntity], graph: GraphStore, wanted: Iterable[str] = ()
    ) -> ChainAnswer | None:
        """The best entity reached by following every named relation from a linked entity, or None."""
        cues = self.relations_in(question)
        if not cues or not linked:
            return None
        wanted_types, lower = set(wanted), question.lower()
        anchors = sorted(linked, key=lambda lk: -lk.score)[:3]
        linked_ids = {lk.entity_id for lk in linked}
        best: ChainAnswer | None = None
        for anchor in anchors:
            at = lower.find(anchor.surface.lower())
            at = at if at >= 0 else len(lower)
            chain = [rtype for _, rtype in sorted(cues, key=lambda c: abs(c[0] - at))]
            found = self._follow(anchor, chain, graph)
            for eid, (score, hops) in found.items():
                entity = graph.get_entity(eid) if eid not in linked_ids else None
                if entity is None or (wanted_types and entity.type not in wanted_types):
                    continue
                candidate = ChainAnswer(eid, entity.name, entity.type, score * anchor.score, hops)
                if best is None or candidate.score > best.score:
                    best = candidate
        return best

    @staticmethod
    def _follow(
        anchor: LinkedEntity, chain: list[str], graph: GraphStore
    ) -> dict[str, tuple[float, tuple[Hop, ...]]]:
        frontier: dict[str, tuple[float, tuple[Hop, ...]]] = {anchor.entity_id: (1.0, ())}
        visited = {anchor.entity_id}
        for rtype in chain:
            reached: dict[str, tuple[float, tuple[Hop, ...]]] = {}
            for eid, (score, hops) in frontier.items():
                for n in graph.neighbours(eid, MAX_NEIGHBOURS):
                    if n.relation.type != rtype or n.entity.id in visited:
                        continue
                    s = score * n.relation.confidence
                    if s > reached.get(n.entity.id, (0.0, ()))[0]:
                        reached[n.entity.id] = (s, (*hops, Hop(eid, n.entity.id, n.relation)))
            if not reached:
                return {}
            frontier = dict(sorted(reached.items(), key=lambda kv: -kv[1][0])[:MAX_FRONTIER])
            visited |= set(frontier)
        return frontier


def hop_evidence(found: ChainAnswer, chunk_ids: Sequence[str]) -> list[tuple[int, RelationEvidence]] | None:
    """For each hop evidenced by one of ``chunk_ids`` (the retrieved passages, in order): (passage number from 1,
    evidence), each passage once; None when no passage evidences the last hop (the answer would be unproven)."""
    where = {c: n for n, c in enumerate(chunk_ids, start=1)}
    if not found.hops or not any(e.chunk_id in where for e in found.hops[-1].relation.evidence):
        return None
    out: list[tuple[int, RelationEvidence]] = []
    for hop in found.hops:
        ev = next((e for e in hop.relation.evidence if e.chunk_id in where), None)
        if ev is not None and all(n != where[ev.chunk_id] for n, _ in out):
            out.append((where[ev.chunk_id], ev))
    return out


def fact_lines(found: ChainAnswer, chunk_ids: Sequence[str], names: dict[str, str]) -> list[str]:
    """The chain's relations as sentences citing the passages that evidence them:
    ``Ilse Marnik founded Northwind Holdings [5].``"""
    where = {c: n for n, c in enumerate(chunk_ids, start=1)}
    out = []
    for hop in found.hops:
        r = hop.relation
        marks = "".join(f"[{n}]" for n in sorted({where[e.chunk_id] for e in r.evidence if e.chunk_id in where}))
        verb = r.type.lower().replace("_", " ")
        out.append(f"{names.get(r.head, r.head)} {verb} {names.get(r.tail, r.tail)} {marks}".rstrip() + ".")
    return out
