"""Curation rules: what knowledge engineers changed, applied every time extraction runs.

A rule is stored with the collection's graph (``GraphStore.curation_rules``), so a
re-ingest, an update or a fresh ingest of the same documents gives the curated graph,
never what extraction proposed before curation. Four kinds, one record each:

- ``edit:<entity>``: a fixed name and/or type, aliases added or removed;
- ``merge:<source>``: every mention of ``source`` belongs to ``target`` instead;
- ``split:<entity>:<new>``: mentions of ``entity`` with one of the given surfaces and/or
  in one of the given documents belong to the new entity ``new``;
- ``relation:<document>:<relation>``: a relation a curator confirmed (``assert``: kept with
  confidence 1.0 and the reviewed sentence as evidence) or rejected (``suppress``: left out) in
  one document (the review queue's decisions, ``service/review.py``).

Extraction first applies splits, then follows merges (so a split-off entity can be merged
too), then edits; relation records apply last, to the relations of their document. Entity ids stay
deterministic: a split-off entity's id derives from its
source and its name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from core.errors import StoreError
from graph.model import Entity, relation_id, stable_id


def split_entity_id(source: str, name: str) -> str:
    """The id of the entity split off ``source`` under ``name``."""
    return stable_id("entity", "split", source, name.strip().casefold())


@dataclass(frozen=True, slots=True)
class EntityEdit:
    """A curated name and/or type, and alias changes (surfaces compared case-insensitively)."""

    name: str | None = None
    type: str | None = None
    add_aliases: tuple[str, ...] = ()
    remove_aliases: tuple[str, ...] = ()

    def combine(self, later: EntityEdit) -> EntityEdit:
        """This edit followed by ``later``."""
        removed = {a.casefold() for a in later.remove_aliases}
        added = {a.casefold() for a in later.add_aliases}
        return EntityEdit(
            name=later.name or self.name,
            type=later.type or self.type,
            add_aliases=tuple(sorted({a for a in self.add_aliases if a.casefold() not in removed}
                                     | set(later.add_aliases))),
            remove_aliases=tuple(sorted({a for a in self.remove_aliases if a.casefold() not in added}
                                        | set(later.remove_aliases))),
        )


@dataclass(frozen=True, slots=True)
class SplitRule:
    """Mentions of ``source`` that move to ``new_id``: any listed surface (case-insensitive) and/or
    any listed document; both lists given means both must hold."""

    source: str
    new_id: str
    surfaces: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    def matches(self, surface: str, doc_id: str) -> bool:
        """Whether a mention with ``surface`` in document ``doc_id`` moves."""
        if self.surfaces and surface.casefold() not in {s.casefold() for s in self.surfaces}:
            return False
        return not self.documents or doc_id in self.documents


@dataclass(frozen=True, slots=True)
class RelationFact:
    """A curator's decision on ``head -[type]-> tail`` in one document: ``assert`` or ``suppress``; an
    asserted relation's evidence is the sentence ``[start, end)`` of chunk ``chunk_id``."""

    doc_id: str
    head: str
    type: str
    tail: str
    action: str
    chunk_id: str = ""
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Curation:
    """Every rule of one collection."""

    edits: Mapping[str, EntityEdit] = field(default_factory=dict)
    merges: Mapping[str, str] = field(default_factory=dict)
    splits: Mapping[str, tuple[SplitRule, ...]] = field(default_factory=dict)
    facts: Mapping[str, tuple[RelationFact, ...]] = field(default_factory=dict)  # by document

    def __bool__(self) -> bool:
        return bool(self.edits or self.merges or self.splits or self.facts)

    def resolve(self, entity_id: str, surface: str, doc_id: str) -> str:
        """The entity a mention of ``entity_id`` (with ``surface``, in ``doc_id``) belongs to: splits and
        merges are followed in turn (a mention merged into an entity may be split off it again)."""
        seen = {entity_id}
        while True:
            moved = next((r.new_id for r in self.splits.get(entity_id, ()) if r.matches(surface, doc_id)), None)
            nxt = moved if moved is not None else self.merges.get(entity_id)
            if nxt is None or nxt in seen:  # done, or a cycle (which the API never stores)
                return entity_id
            seen.add(nxt)
            entity_id = nxt

    def target(self, entity_id: str) -> str:
        """Where merges send ``entity_id`` (itself when not merged)."""
        seen = {entity_id}
        while entity_id in self.merges:
            entity_id = self.merges[entity_id]
            if entity_id in seen:  # a cycle cannot be stored through the API; never loop on one
                break
            seen.add(entity_id)
        return entity_id

    def apply(self, entity: Entity) -> Entity:
        """The entity with its edit applied; an edited name or type pins it (the store keeps it)."""
        edit = self.edits.get(entity.id)
        if edit is None:
            return entity
        removed = {a.casefold() for a in edit.remove_aliases}
        name = edit.name or entity.name
        aliases = {a for a in (*entity.aliases, *edit.add_aliases, name) if a.casefold() not in removed}
        pinned = bool(edit.name or edit.type) or entity.pinned
        return replace(entity, name=name, type=edit.type or entity.type, aliases=tuple(sorted(aliases)),
                       pinned=pinned)


# -- records ------------------------------------------------------------------------------


def edit_record(entity_id: str, edit: EntityEdit) -> tuple[str, str]:
    """The stored (key, body) of an edit."""
    body = {"name": edit.name, "type": edit.type, "add_aliases": list(edit.add_aliases),
            "remove_aliases": list(edit.remove_aliases)}
    return f"edit:{entity_id}", json.dumps(body, sort_keys=True)


def merge_record(source: str, target: str) -> tuple[str, str]:
    """The stored (key, body) of a merge."""
    return f"merge:{source}", json.dumps({"target": target})


def split_record(rule: SplitRule) -> tuple[str, str]:
    """The stored (key, body) of a split."""
    body = {"surfaces": list(rule.surfaces), "documents": list(rule.documents)}
    return f"split:{rule.source}:{rule.new_id}", json.dumps(body, sort_keys=True)


def relation_record(fact: RelationFact) -> tuple[str, str]:
    """The stored (key, body) of a relation decision (one per document and relation)."""
    body = {"head": fact.head, "type": fact.type, "tail": fact.tail, "action": fact.action,
            "chunk_id": fact.chunk_id, "start": fact.start, "end": fact.end}
    return f"relation:{fact.doc_id}:{relation_id(fact.head, fact.type, fact.tail)}", json.dumps(body, sort_keys=True)


def parse_records(records: Mapping[str, str]) -> Curation:
    """The curation stored as ``records`` (see the module docstring).

    Raises:
        StoreError: a record is not one this version wrote.
    """
    edits: dict[str, EntityEdit] = {}
    merges: dict[str, str] = {}
    splits: dict[str, list[SplitRule]] = {}
    facts: dict[str, list[RelationFact]] = {}
    for key, body in sorted(records.items()):
        try:
            kind, _, rest = key.partition(":")
            data = json.loads(body)
            if kind == "edit":
                edits[rest] = EntityEdit(data["name"], data["type"], tuple(data["add_aliases"]),
                                         tuple(data["remove_aliases"]))
            elif kind == "merge":
                merges[rest] = str(data["target"])
            elif kind == "split":
                source, _, new_id = rest.partition(":")
                rule = SplitRule(source, new_id, tuple(data["surfaces"]), tuple(data["documents"]))
                splits.setdefault(source, []).append(rule)
            elif kind == "relation":
                doc_id = rest.partition(":")[0]
                if data["action"] not in ("assert", "suppress"):
                    raise ValueError(f"action {data['action']!r}")
                facts.setdefault(doc_id, []).append(RelationFact(
                    doc_id, str(data["head"]), str(data["type"]), str(data["tail"]), str(data["action"]),
                    str(data["chunk_id"]), int(data["start"]), int(data["end"])))
            else:
                raise KeyError(kind)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"unreadable curation record {key!r}: {exc}") from exc
    return Curation(edits, merges, {k: tuple(v) for k, v in splits.items()}, {k: tuple(v) for k, v in facts.items()})


def revert_plan(records: Mapping[str, str], key: str) -> tuple[list[str], list[str]]:
    """What reverting record ``key`` deletes (record keys) and which entities' documents to extract again.

    An edit: its entity. A merge: the entity the source went to (the source comes back). A split: the
    split-off entity (its mentions go back), whose own edit goes too. A relation decision: its head (the
    document it names is among the head's, or it no longer matters).

    Raises:
        KeyError: no such record.
        StoreError: the stored records are unreadable.
    """
    if key not in records:
        raise KeyError(key)
    kind, _, rest = key.partition(":")
    if kind == "edit":
        return [key], [rest]
    if kind == "merge":
        return [key], [parse_records(records).target(rest)]
    if kind == "relation":
        return [key], [parse_records(records).target(str(json.loads(records[key])["head"]))]
    new_id = rest.partition(":")[2]
    gone = [key] + ([f"edit:{new_id}"] if f"edit:{new_id}" in records else [])
    return gone, [new_id]
