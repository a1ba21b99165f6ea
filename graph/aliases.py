"""The alias support one document gives its entities, the same for every adapter."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from graph.model import DocumentBundle
from graph.normalize import normalize_name
from graph.ontology import AliasRules


class AliasRow(NamedTuple):
    """One surface form of an entity in one document, mentioned ``mentions`` times there (0: a name only)."""

    entity_id: str
    norm: str
    surface: str
    mentions: int
    type: str  # the entity's type in this document: its type over all documents is the most mentioned one


def alias_rows(bundle: DocumentBundle, rules: AliasRules) -> list[AliasRow]:
    """Surfaces of the bundle's mentions (with counts) plus entity aliases no mention carries,
    e.g. a title without its disambiguator. A pinned (curated) entity is named by its aliases only."""
    types = {e.id: e.type for e in bundle.entities}
    kept = {e.id: {a.casefold() for a in e.aliases} for e in bundle.entities if e.pinned}
    surfaces = Counter(
        (m.entity_id, m.surface) for m in bundle.mentions
        if m.entity_id not in kept or m.surface.casefold() in kept[m.entity_id]
    )
    for e in bundle.entities:
        for alias in e.aliases:
            surfaces.setdefault((e.id, alias), 0)
    return [
        AliasRow(eid, normalize_name(surface, types.get(eid), rules), surface, n, types.get(eid, "Thing"))
        for (eid, surface), n in surfaces.items()
    ]
