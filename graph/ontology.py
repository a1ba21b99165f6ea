"""The versioned ontology: entity types, relation types, alias rules.

Loaded from YAML and validated with pydantic; extraction asks it which spaCy
labels map to which entity types, which trigger lemmas name which relation
types, and whether a (head type, relation, tail type) triple is allowed.
"""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from core.errors import OntologyError

ANY_TYPE = "*"
FALLBACK_RELATION = "RELATED_TO"
COOCCURRENCE_RELATION = "CO_OCCURS_WITH"


class EntityTypeDef(BaseModel):
    """An entity type and the spaCy NER labels that produce it."""

    labels: list[str] = Field(default_factory=list)


class RelationTypeDef(BaseModel):
    """A relation type: allowed head/tail entity types and trigger lemmas."""

    head: list[str]
    tail: list[str]
    triggers: list[str] = Field(default_factory=list)


class AliasRules(BaseModel):
    """How names are normalised before entities are merged."""

    strip_prefixes: list[str] = Field(default_factory=list)
    strip_suffixes: dict[str, list[str]] = Field(default_factory=dict)
    possessives: bool = True
    min_length: int = 2


class Ontology(BaseModel):
    """A complete, validated ontology."""

    version: int
    entity_types: dict[str, EntityTypeDef]
    relation_types: dict[str, RelationTypeDef]
    aliases: AliasRules = Field(default_factory=AliasRules)

    @model_validator(mode="after")
    def _check_references(self) -> Ontology:
        known = set(self.entity_types) | {ANY_TYPE}
        for name, rel in self.relation_types.items():
            unknown = [t for t in rel.head + rel.tail if t not in known]
            if unknown:
                raise ValueError(f"relation {name} names unknown entity types {unknown}")
        seen: dict[str, str] = {}
        for name, ent in self.entity_types.items():
            for label in ent.labels:
                if label in seen:
                    raise ValueError(f"label {label} mapped by both {seen[label]} and {name}")
                seen[label] = name
        for required in (FALLBACK_RELATION, COOCCURRENCE_RELATION):
            if required not in self.relation_types:
                raise ValueError(f"relation type {required} is required")
        if "Thing" not in self.entity_types:
            raise ValueError("entity type Thing is required (untyped document titles)")
        return self

    @cached_property
    def label_to_type(self) -> dict[str, str]:
        """spaCy label -> entity type."""
        return {label: name for name, ent in self.entity_types.items() for label in ent.labels}

    @cached_property
    def trigger_to_types(self) -> dict[str, list[str]]:
        """Trigger phrase (lemma, optionally + preposition) -> relation types, in file order."""
        table: dict[str, list[str]] = {}
        for name, rel in self.relation_types.items():
            for trig in rel.triggers:
                table.setdefault(trig.lower(), []).append(name)
        return table

    def entity_type_for(self, label: str) -> str | None:
        """The entity type for a spaCy label, or None when the ontology rejects it."""
        return self.label_to_type.get(label)

    def allows(self, head_type: str, relation: str, tail_type: str) -> bool:
        """Whether ``head_type -[relation]-> tail_type`` is allowed."""
        rel = self.relation_types.get(relation)
        if rel is None:
            return False
        return (ANY_TYPE in rel.head or head_type in rel.head) and (
            ANY_TYPE in rel.tail or tail_type in rel.tail
        )

    def type_relation(self, trigger: str, head_type: str, tail_type: str) -> str | None:
        """The first relation type the trigger names that allows these entity types."""
        for rel in self.trigger_to_types.get(trigger.lower(), []):
            if self.allows(head_type, rel, tail_type):
                return rel
        return None

    def is_trigger(self, trigger: str) -> bool:
        """Whether any relation type lists ``trigger``."""
        return trigger.lower() in self.trigger_to_types


def load_ontology(path: Path | None = None) -> Ontology:
    """Load and validate an ontology file (default: the shipped ``ontology.yaml``).

    Raises:
        OntologyError: the file cannot be read or is invalid.
    """
    try:
        if path is None:
            text = resources.files("graph").joinpath("ontology.yaml").read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise OntologyError(f"cannot read ontology {path or 'default'}: {exc}") from exc
    try:
        return Ontology.model_validate(data)
    except ValidationError as exc:
        raise OntologyError(f"invalid ontology {path or 'default'}: {exc}") from exc
