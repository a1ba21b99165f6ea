"""What changed between two ontology versions: entity types, relation types and alias rules.

A diff lists what was added and removed, and for each type in both versions the labels,
head/tail types and triggers it gained or lost; alias rules are compared field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.ontology import Ontology


@dataclass(frozen=True, slots=True)
class TypeChange:
    """How one type present in both versions changed: per list field, the values added and removed."""

    name: str
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OntologyDiff:
    """From version ``before`` to version ``after``."""

    before: int
    after: int
    entity_types_added: list[str]
    entity_types_removed: list[str]
    entity_types_changed: list[TypeChange]
    relation_types_added: list[str]
    relation_types_removed: list[str]
    relation_types_changed: list[TypeChange]
    aliases_changed: dict[str, dict[str, Any]]  # field -> {"before": ..., "after": ...}

    @property
    def empty(self) -> bool:
        """Whether the two versions define the same types and rules."""
        return not (self.entity_types_added or self.entity_types_removed or self.entity_types_changed
                    or self.relation_types_added or self.relation_types_removed or self.relation_types_changed
                    or self.aliases_changed)


def _change(name: str, old: dict[str, list[str]], new: dict[str, list[str]]) -> TypeChange | None:
    added = {k: sorted(set(new[k]) - set(old[k])) for k in new}
    removed = {k: sorted(set(old[k]) - set(new[k])) for k in old}
    added = {k: v for k, v in added.items() if v}
    removed = {k: v for k, v in removed.items() if v}
    return TypeChange(name, added, removed) if added or removed else None


def _compare(old: dict[str, dict[str, list[str]]], new: dict[str, dict[str, list[str]]]
             ) -> tuple[list[str], list[str], list[TypeChange]]:
    changed = [c for n in sorted(set(old) & set(new)) if (c := _change(n, old[n], new[n])) is not None]
    return sorted(set(new) - set(old)), sorted(set(old) - set(new)), changed


def diff(before: Ontology, after: Ontology) -> OntologyDiff:
    """What ``after`` changes of ``before``."""
    def entity_fields(o: Ontology) -> dict[str, dict[str, list[str]]]:
        return {n: {"labels": e.labels} for n, e in o.entity_types.items()}

    def relation_fields(o: Ontology) -> dict[str, dict[str, list[str]]]:
        return {n: {"head": r.head, "tail": r.tail, "triggers": r.triggers} for n, r in o.relation_types.items()}

    ents = _compare(entity_fields(before), entity_fields(after))
    rels = _compare(relation_fields(before), relation_fields(after))
    old_rules, new_rules = before.aliases.model_dump(), after.aliases.model_dump()
    aliases = {k: {"before": old_rules[k], "after": new_rules[k]} for k in old_rules if old_rules[k] != new_rules[k]}
    return OntologyDiff(before.version, after.version, *ents, *rels, aliases)
