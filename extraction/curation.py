"""Curating entities: rename, retype, change aliases, merge, split.

A change is planned (validated against the store and the ontology), saved as curation
records in the graph store (``graph.curation``), then applied by extracting the documents
of the entities it touches again (:meth:`IngestPipeline.reprocess`). Because every later
ingest applies the same records, re-ingesting a document never undoes a curation, and a
fresh ingest of the same corpus gives the same graph. Applying is idempotent: if it is
interrupted, applying the same change again completes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from extraction.pipeline import IngestPipeline, IngestReport
from graph.curation import (
    EntityEdit,
    SplitRule,
    edit_record,
    merge_record,
    parse_records,
    revert_plan,
    split_entity_id,
    split_record,
)
from graph.model import Entity
from graph.ontology import Ontology
from graph.ports import GraphStore

MAX_NAME = 300


@dataclass(slots=True)
class CurationChange:
    """A validated change: the records to store, the entities whose documents to extract again,
    the entities whose vectors to renew, and what it changes (for the audit log)."""

    action: str
    target: str
    records: dict[str, str | None]
    entities: list[str]
    reembed: frozenset[str]
    before: dict[str, Any]
    after: dict[str, Any]
    documents: list[str] = field(default_factory=list)  # set by Curator.save: every document to extract again
    named_documents: list[str] = field(default_factory=list)  # to extract again besides the entities' documents


def entity_summary(entity: Entity) -> dict[str, Any]:
    """The audit form of an entity."""
    return {"id": entity.id, "name": entity.name, "type": entity.type, "aliases": sorted(entity.aliases)}


def _name(value: str | None, field_name: str) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise InputError(f"{field_name}: must be 1 to {MAX_NAME} characters", field=field_name)
    return cleaned


def _aliases(values: Sequence[str], field_name: str) -> tuple[str, ...]:
    return tuple(sorted({a for a in (_name(v, field_name) for v in values) if a}))


class Curator:
    """Plans, saves and applies curation changes for one collection's store."""

    def __init__(self, graph: GraphStore, ontology: Ontology) -> None:
        self._graph = graph
        self._ontology = ontology

    def _entity(self, entity_id: str, field_name: str = "entity") -> Entity:
        entity = self._graph.get_entity(entity_id)
        if entity is None:
            raise NotFoundError(f"{field_name}: no entity {entity_id!r}")
        return entity

    def _type(self, value: str | None) -> str | None:
        if value is not None and value not in self._ontology.entity_types:
            known = ", ".join(sorted(self._ontology.entity_types))
            raise InputError(f"type: {value!r} is not an entity type of the ontology ({known})", field="type")
        return value

    def _combined(self, entity_id: str, edit: EntityEdit) -> EntityEdit:
        earlier = parse_records(self._graph.curation_rules()).edits.get(entity_id)
        return earlier.combine(edit) if earlier is not None else edit

    def edit(
        self, entity_id: str, *, name: str | None = None, type: str | None = None,  # noqa: A002 - API field name
        add_aliases: Sequence[str] = (), remove_aliases: Sequence[str] = (),
    ) -> CurationChange:
        """Rename, retype and/or change the aliases of an entity.

        Raises:
            NotFoundError: no such entity.
            InputError: nothing to change, an empty name, a type outside the ontology.
        """
        entity = self._entity(entity_id)
        # every edit fixes the name (the current one unless renamed): stores then keep it as curated
        edit = EntityEdit(_name(name, "name") or entity.name, self._type(type), _aliases(add_aliases, "add_aliases"),
                          _aliases(remove_aliases, "remove_aliases"))
        if edit == EntityEdit(entity.name):
            raise InputError("name, type, add_aliases or remove_aliases: nothing to change", field="name")
        both = {a.casefold() for a in edit.add_aliases} & {a.casefold() for a in edit.remove_aliases}
        if both:
            raise InputError(f"add_aliases, remove_aliases: {sorted(both)} in both", field="add_aliases")
        removed = {a.casefold() for a in edit.remove_aliases}
        new_name = edit.name or entity.name
        if new_name.casefold() in removed:
            raise InputError("remove_aliases: cannot remove the entity's name", field="remove_aliases")
        aliases = {a for a in (*entity.aliases, *edit.add_aliases, new_name) if a.casefold() not in removed}
        after = {"id": entity.id, "name": new_name, "type": edit.type or entity.type, "aliases": sorted(aliases)}
        key, body = edit_record(entity.id, self._combined(entity.id, edit))
        return CurationChange("entity.edit", entity.id, {key: body}, [entity.id], frozenset({entity.id}),
                              entity_summary(entity), after)

    def merge(
        self, sources: Sequence[str], target: str, *, name: str | None = None,
        type: str | None = None,  # noqa: A002 - API field name
    ) -> CurationChange:
        """Merge ``sources`` into ``target`` (which keeps its id), optionally naming or typing it.

        Raises:
            NotFoundError: a source or the target does not exist.
            InputError: no sources, a bad name or type.
            ConflictError: the target is among the sources.
        """
        unique = list(dict.fromkeys(sources))
        if not unique:
            raise InputError("sources: at least one entity to merge", field="sources")
        if target in unique:
            raise ConflictError("sources: an entity cannot be merged into itself")
        kept = self._entity(target, "target")
        merged = [self._entity(s, "sources") for s in unique]
        records: dict[str, str | None] = dict(merge_record(s, target) for s in unique)
        new_name, new_type = _name(name, "name"), self._type(type)
        # the target keeps (or takes) its name and type: without a pin the name would be re-derived from the
        # merged surfaces, and the type would depend on the order documents are written
        pin = EntityEdit(new_name or kept.name, new_type or kept.type)
        key, body = edit_record(target, self._combined(target, pin))
        records[key] = body
        aliases = sorted({a for e in (kept, *merged) for a in e.aliases} | ({new_name} if new_name else set()))
        after = {"id": target, "name": new_name or kept.name, "type": new_type or kept.type, "aliases": aliases}
        before = {"target": entity_summary(kept), "sources": [entity_summary(e) for e in merged]}
        return CurationChange("entity.merge", target, records, [*unique, target], frozenset({target}), before,
                              after)

    def split(
        self, entity_id: str, *, name: str, type: str | None = None,  # noqa: A002 - API field name
        surfaces: Sequence[str] = (), documents: Sequence[str] = (),
    ) -> CurationChange:
        """Split the mentions with ``surfaces`` and/or in ``documents`` off ``entity_id`` into a new entity.

        Raises:
            NotFoundError: no such entity.
            InputError: no name, neither surfaces nor documents, a surface or document the entity does
                not have, a bad type.
        """
        entity = self._entity(entity_id)
        new_name = _name(name, "name")
        if new_name is None:
            raise InputError("name: required", field="name")
        surface_set, doc_set = _aliases(surfaces, "surfaces"), tuple(sorted(set(documents)))
        if not surface_set and not doc_set:
            raise InputError("surfaces, documents: give the surfaces and/or documents whose mentions move",
                             field="surfaces")
        known = {a.casefold() for a in entity.aliases}
        unknown = [s for s in surface_set if s.casefold() not in known]
        if unknown:
            raise InputError(f"surfaces: {unknown} are not names of entity {entity_id!r}", field="surfaces")
        if doc_set:
            missing = sorted(set(doc_set) - set(self._graph.entity_documents([entity_id])))
            if missing:
                raise InputError(f"documents: {missing} do not mention entity {entity_id!r}", field="documents")
        new_type = self._type(type) or entity.type
        new_id = split_entity_id(entity_id, new_name)
        if new_id == entity_id:
            raise ConflictError("name: the split-off entity needs a different name")
        rule = SplitRule(entity_id, new_id, surface_set, doc_set)
        records: dict[str, str | None] = dict([split_record(rule)])
        key, body = edit_record(new_id, EntityEdit(new_name, new_type, surface_set))
        records[key] = body
        after = {"id": new_id, "name": new_name, "type": new_type, "aliases": sorted({new_name, *surface_set}),
                 "split_from": entity_id, "surfaces": list(surface_set), "documents": list(doc_set)}
        # the split-off entity's own documents too: a repeated split under the same name replaces the rule
        return CurationChange("entity.split", entity_id, records, [entity_id, new_id], frozenset({new_id}),
                              entity_summary(entity), after)

    def records(self) -> list[dict[str, Any]]:
        """Every stored curation record: ``key``, ``kind``, ``entity`` (a relation decision's: its head) and
        its ``rule``, sorted by key."""
        out = []
        for key, body in sorted(self._graph.curation_rules().items()):
            kind, _, rest = key.partition(":")
            rule = json.loads(body)
            entity = str(rule["head"]) if kind == "relation" else rest.split(":")[0]
            out.append({"key": key, "kind": kind, "entity": entity, "rule": rule})
        return out

    def revert(self, key: str) -> CurationChange:
        """Undo one stored record (and, for a split, the edit of the split-off entity).

        Raises:
            NotFoundError: no such record.
        """
        records = self._graph.curation_rules()
        try:
            gone, entities = revert_plan(records, key)
        except KeyError as exc:
            raise NotFoundError(f"key: no curation record {key!r}") from exc
        before = {k: json.loads(records[k]) for k in gone}
        return CurationChange("curation.revert", key, dict.fromkeys(gone), entities, frozenset(entities), before,
                              {"reverted": gone})

    def save(self, change: CurationChange) -> None:
        """Store the change's records (from now on every ingest applies them); lists the documents
        to extract again in ``change.documents``.

        Raises:
            StoreError: nothing was stored.
        """
        change.documents = sorted(set(self._graph.entity_documents(change.entities)) | set(change.named_documents))
        self._graph.save_curation_rules(change.records)

    @contextmanager
    def saving(self, change: CurationChange) -> Iterator[None]:
        """:meth:`save` the change for good only if the ``with`` body (its job, its audit entry) succeeds;
        if the body raises, the records are put back as they were and the error propagates.

        Raises:
            StoreError: nothing was stored.
        """
        stored = self._graph.curation_rules()
        self.save(change)
        try:
            yield
        except BaseException:  # re-raised: no confirmation, no change
            self._graph.save_curation_rules({k: stored.get(k) for k in change.records})
            raise


def apply_change(
    pipeline: IngestPipeline, graph: GraphStore, entities: Sequence[str], reembed: frozenset[str],
    progress: Callable[[int, int], None] | None = None, documents: Sequence[str] = (),
    text_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Extract again every document that mentions ``entities``, and ``documents``, under the stored
    curation records.

    Raises:
        StoreError, ModelError: as :meth:`IngestPipeline.reprocess`; applying again completes the change.
    """
    return pipeline.reprocess(sorted(set(graph.entity_documents(entities)) | set(documents)), reembed, progress,
                              text_progress)
