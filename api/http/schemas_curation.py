"""The curation pages' shapes: entity edits, merges and splits, curation records, the ontology, its versions
and diffs, the review queue and its decisions."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from api.http.schemas import EntityId, JobOut, Name


class EntityPatch(Struct, forbid_unknown_fields=True):
    """Changes to an entity; fields left out stay as they are."""

    name: Name | None = None
    type: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    add_aliases: Annotated[list[Name], Meta(max_length=100)] = []
    remove_aliases: Annotated[list[Name], Meta(max_length=100)] = []


class MergeRequest(Struct, forbid_unknown_fields=True):
    """Entities to merge into ``target`` (optionally renamed or retyped)."""

    sources: Annotated[list[EntityId], Meta(min_length=1, max_length=100)]
    target: EntityId
    name: Name | None = None
    type: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class SplitRequest(Struct, forbid_unknown_fields=True):
    """The new entity's name (and type), and which mentions move to it: by surface and/or by document."""

    name: Name
    type: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    surfaces: Annotated[list[Name], Meta(max_length=100)] = []
    documents: Annotated[list[Annotated[str, Meta(min_length=1, max_length=256)]], Meta(max_length=1000)] = []


class CurationRecord(Struct):
    """One stored curation record: ``kind`` edit, merge or split; ``entity`` the entity it is about."""

    key: str
    kind: str
    entity: str
    rule: dict[str, Any]


class CurationOut(Struct):
    """A curation change accepted: ``entity`` as it will be once ``job`` has extracted the documents again."""

    action: str
    entity: dict[str, Any]
    job: JobOut


class OntologyOut(Struct):
    """The ontology in force for a collection; ``source``: collection (its own) or server."""

    version: int
    source: str
    ontology: dict[str, Any]


class OntologyVersionOut(Struct):
    """A version of a collection's ontology; ``current``: the one in force."""

    version: int
    source: str
    current: bool


class TypeChangeOut(Struct):
    """A type in both versions: per field (labels, head, tail, triggers), the values added and removed."""

    name: str
    added: dict[str, list[str]]
    removed: dict[str, list[str]]


class OntologyDiffOut(Struct):
    """What version ``after`` changes of version ``before``."""

    before: int
    after: int
    empty: bool
    entity_types_added: list[str]
    entity_types_removed: list[str]
    entity_types_changed: list[TypeChangeOut]
    relation_types_added: list[str]
    relation_types_removed: list[str]
    relation_types_changed: list[TypeChangeOut]
    aliases_changed: dict[str, dict[str, Any]]


class ReviewEntity(Struct):
    """An entity as a review item names it."""

    id: str
    name: str
    type: str


class ReviewItemOut(Struct):
    """What extraction proposed: ``kind`` rejected (the ontology forbids these entity types for the relation)
    or low_confidence (stored, but uncertain); the sentence that states it; its state."""

    id: str
    kind: str
    status: str
    relation: str
    head: ReviewEntity
    tail: ReviewEntity
    confidence: float
    document: str
    chunk_id: str
    start: int
    end: int
    sentence: str
    decided_at: float | None
    decided_by: str | None


class ReviewPageOut(Struct):
    """A page of review items of one status (lowest confidence first); ``total``: how many that status
    holds; ``counts``: kind -> status -> items."""

    items: list[ReviewItemOut]
    offset: int
    limit: int
    total: int
    counts: dict[str, dict[str, int]]


class DecisionOut(Struct):
    """A review decision: the items it settled, the ontology version it made (an accepted rejection
    widens the ontology), and the ``curate`` job that applies it (none when the graph does not change)."""

    items: list[str]
    status: str
    ontology_version: int | None
    job: JobOut | None
