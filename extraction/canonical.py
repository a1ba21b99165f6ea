"""Entity canonicalisation: mentions of one document -> entities, mentions, relations.

Identity is the normalised name (``graph.normalize``): "Apple Inc." and "Apple"
merge, "John Smith" and "John Brown" never do. Within one document a shorter
person name that matches exactly one longer person name ("Obama" after
"Barack Obama") joins it. An entity's type is the majority of its typed
mentions; ``Thing`` only when nothing better is known.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from extraction.mentions import RawMention
from extraction.relations import RawRelation
from graph.curation import Curation
from graph.model import Entity, Mention, Relation, RelationEvidence, relation_id, stable_id
from graph.normalize import normalize_name
from graph.ontology import AliasRules


def entity_id(key: str) -> str:
    """The identifier of the entity whose normalised name is ``key``."""
    return stable_id("entity", key)


@dataclass(slots=True)
class ChunkExtraction:
    """What extraction found in one chunk."""

    chunk_id: str
    chunk_start: int
    mentions: list[RawMention]
    relations: list[RawRelation]
    rejected: list[RawRelation] = field(default_factory=list)  # relations the ontology refused


class Canonical(NamedTuple):
    """What one document contributes; ``rejected``: the relations the ontology refused, as they would have
    been (not stored; a curator's review queue lists them)."""

    entities: list[Entity]
    mentions: list[Mention]
    relations: list[Relation]
    rejected: list[Relation]


def _person_aliases(keys_by_type: dict[str, set[str]]) -> dict[str, str]:
    """Map short names to the one longer person name of the document that ends or starts with them.

    The short name may carry any type: NER often mistypes a lone surname. Indexed by the longer names'
    leading and trailing words, so a long document with thousands of names stays linear.
    """
    persons = keys_by_type.get("Person", set())
    ends: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for long_key in persons:
        words = long_key.split()
        for n in range(1, len(words)):
            ends[tuple(words[-n:])].add(long_key)
            ends[tuple(words[:n])].add(long_key)
    remap: dict[str, str] = {}
    for short in {k for keys in keys_by_type.values() for k in keys}:
        candidates = ends.get(tuple(short.split()), set()) - {short}
        if len(candidates) == 1:
            remap[short] = next(iter(candidates))
    return remap


_DISAMBIGUATOR = re.compile(r"^(.+?)\s*\([^()]+\)\s*$")


def _short_title(title: str) -> str | None:
    """ "Brother (Pearl Jam song)" -> "Brother": titles name their subject before a disambiguator."""
    match = _DISAMBIGUATOR.match(title)
    return match.group(1).strip() if match else None


def _relations_of(doc_id: str, ex: ChunkExtraction, ids: list[str], found: list[RawRelation],
                  into: dict[str, tuple[str, str, str, list[RelationEvidence]]]) -> None:
    for r in found:
        head, tail = ids[r.head], ids[r.tail]
        if head == tail:
            continue
        rid = relation_id(head, r.type, tail)
        ev = RelationEvidence(ex.chunk_id, doc_id, ex.chunk_start + r.sent_start, ex.chunk_start + r.sent_end,
                              r.confidence)
        into.setdefault(rid, (head, r.type, tail, []))[3].append(ev)


def _as_relations(found: dict[str, tuple[str, str, str, list[RelationEvidence]]]) -> list[Relation]:
    return [Relation(rid, head, rtype, tail, max(e.confidence for e in evs), tuple(evs))
            for rid, (head, rtype, tail, evs) in found.items()]


def _apply_facts(doc_id: str, curation: Curation, present: set[str], chunks: set[str],
                 relations: dict[str, tuple[str, str, str, list[RelationEvidence]]]) -> None:
    """A curator's relation decisions for this document: suppressed relations go, asserted ones are kept
    with confidence 1.0 (when both entities and the evidence's chunk are still in the document)."""
    for fact in curation.facts.get(doc_id, ()):
        head, tail = curation.target(fact.head), curation.target(fact.tail)
        rid = relation_id(head, fact.type, tail)
        if fact.action == "suppress":
            relations.pop(rid, None)
        elif head in present and tail in present and head != tail and fact.chunk_id in chunks:
            kept = [e for e in relations.get(rid, (head, fact.type, tail, []))[3] if e.chunk_id != fact.chunk_id]
            relations[rid] = (head, fact.type, tail,
                              [RelationEvidence(fact.chunk_id, doc_id, fact.start, fact.end, 1.0), *kept])


def canonicalise(
    doc_id: str, extractions: list[ChunkExtraction], rules: AliasRules, curation: Curation | None = None
) -> Canonical:
    """Build the entities, mentions and relations one document contributes, with ``curation`` applied."""
    curation = curation or Curation()
    keys_by_type: dict[str, set[str]] = defaultdict(set)
    for ex in extractions:
        for m in ex.mentions:
            keys_by_type[m.type].add(m.key)
    remap = _person_aliases(keys_by_type)

    keys: dict[str, str] = {}
    extra_aliases: dict[str, set[str]] = defaultdict(set)
    types: dict[str, Counter[str]] = defaultdict(Counter)
    names: dict[str, Counter[str]] = defaultdict(Counter)
    mentions: list[Mention] = []
    relations: dict[str, tuple[str, str, str, list[RelationEvidence]]] = {}
    rejected: dict[str, tuple[str, str, str, list[RelationEvidence]]] = {}
    for ex in extractions:
        ids: list[str] = []
        for m in ex.mentions:
            key = remap.get(m.key, m.key)
            mtype = "Person" if key != m.key else m.type
            eid = curation.resolve(entity_id(key), m.surface, doc_id)
            keys[eid] = key
            ids.append(eid)
            types[eid][mtype] += 0 if mtype == "Thing" else 1
            types[eid]["Thing"] += 0
            names[eid][m.surface] += 1
            mentions.append(Mention(ex.chunk_id, m.start, m.end, m.surface, eid))
        _relations_of(doc_id, ex, ids, ex.relations, relations)
        _relations_of(doc_id, ex, ids, ex.rejected, rejected)

    for ex in extractions:
        for m in ex.mentions:
            short = _short_title(m.surface) if m.is_title else None
            if short:
                eid = curation.resolve(entity_id(remap.get(m.key, m.key)), m.surface, doc_id)
                extra_aliases[eid].add(short)
    entities: list[Entity] = []
    for eid, counter in types.items():
        typed = [(n, t) for t, n in counter.items() if t != "Thing" and n > 0]
        etype = max(typed)[1] if typed else "Thing"
        full = {s: n for s, n in names[eid].items() if normalize_name(s, etype, rules) == keys[eid]}
        name = max((full or names[eid]).items(), key=lambda kv: (kv[1], len(kv[0])))[0]
        entity = Entity(eid, name, etype, tuple(sorted(set(names[eid]) | extra_aliases[eid])))
        entities.append(curation.apply(entity))
    if curation.facts:
        _apply_facts(doc_id, curation, set(types), {ex.chunk_id for ex in extractions}, relations)
    return Canonical(sorted(entities, key=lambda e: e.id), mentions, _as_relations(relations),
                     _as_relations(rejected))
