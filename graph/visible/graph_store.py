"""VisibleGraph: a read-only GraphStore showing one viewer what it may see.

Every read is answered from :class:`graph.visible.data.VisibleData` (and texts fetched
from the underlying store for visible ids only), in a fixed order, so that a viewer's
answers are those of a store that never held the documents hidden from it. The
snapshot is re-read when the underlying store's version changes; one snapshot serves
every viewer of a store (:class:`SnapshotCache`).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence

from core.errors import StoreError
from graph.access import Viewer
from graph.model import (
    Chunk,
    Document,
    DocumentBundle,
    Entity,
    GraphSnapshot,
    Mention,
    Neighbour,
    Relation,
    RelationEvidence,
    ScoredEntity,
    StoreStats,
    TypeCensus,
    describe_entity,
)
from graph.normalize import normalize_name
from graph.ontology import AliasRules
from graph.ports import GraphStore
from graph.visible.data import VisibleData, VisibleRelation, build

_VIEWS_KEPT = 16


class SnapshotCache:
    """The latest snapshot of one store and the views built from it, per viewer (most recent kept)."""

    def __init__(self, base: GraphStore) -> None:
        self.base = base
        self._lock = threading.Lock()
        self._snapshot: GraphSnapshot | None = None
        self._views: OrderedDict[str, VisibleData] = OrderedDict()
        self.word_counts: dict[str, Counter[str]] = {}  # chunk id -> its folded words, for keyword scoring

    def data(self, viewer: Viewer) -> VisibleData:
        """What ``viewer`` sees of the store as it is now.

        Raises:
            StoreError: the store cannot be read.
        """
        version = self.base.version()
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = self.base.snapshot()
                self._views.clear()
                self.word_counts = {}  # a chunk id may hold another text after a document is replaced
            snapshot = self._snapshot
            data = self._views.get(viewer.key)
            if data is not None:
                self._views.move_to_end(viewer.key)
                return data
        data = build(snapshot, viewer)
        with self._lock:
            if self._snapshot is snapshot:
                self._views[viewer.key] = data
                while len(self._views) > _VIEWS_KEPT:
                    self._views.popitem(last=False)
        return data


def _relation(rel: VisibleRelation) -> Relation:
    return Relation(rel.id, rel.head, rel.type, rel.tail, rel.confidence, tuple(rel.evidence))


class VisibleGraph(GraphStore):
    """What one viewer may see of a graph store; writes are refused (they go to the store itself)."""

    def __init__(self, cache: SnapshotCache, viewer: Viewer, rules: AliasRules) -> None:
        self._cache = cache
        self._base = cache.base
        self.viewer = viewer
        self._rules = rules

    def data(self) -> VisibleData:
        """The visible rows now (see :class:`SnapshotCache`)."""
        return self._cache.data(self.viewer)

    @property
    def word_counts(self) -> dict[str, Counter[str]]:
        """Chunk id -> its folded words, shared by every view of the store until it changes."""
        return self._cache.word_counts

    # -- writes: not through a view ------------------------------------------------------

    def _read_only(self) -> StoreError:
        return StoreError("a restricted view of a store is read-only")

    def write_documents(self, bundles: Sequence[DocumentBundle]) -> list[str]:
        """Refused: see the class docstring."""
        raise self._read_only()

    def delete_document(self, doc_id: str) -> list[str]:
        """Refused: see the class docstring."""
        raise self._read_only()

    def save_curation_rules(self, rules: Mapping[str, str | None]) -> None:
        """Refused: see the class docstring."""
        raise self._read_only()

    # -- documents and chunks ----------------------------------------------------------

    def document_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """See :meth:`GraphStore.document_hashes` (visible documents only)."""
        docs = self.data().documents
        return {d: docs[d][2] for d in doc_ids if d in docs}

    def get_document(self, doc_id: str) -> Document | None:
        """See :meth:`GraphStore.get_document`."""
        if doc_id not in self.data().documents:
            return None
        return self._base.get_document(doc_id)

    def find_documents(self, key: str) -> list[Document]:
        """See :meth:`GraphStore.find_documents`."""
        docs = self.data().documents
        return [d for d in self._base.find_documents(key) if d.id in docs]

    def list_documents(self, offset: int = 0, limit: int = 100) -> list[Document]:
        """See :meth:`GraphStore.list_documents`."""
        page = list(self.data().documents)[offset : offset + limit]
        return [doc for d in page if (doc := self._base.get_document(d)) is not None]

    def search_documents(self, text: str, offset: int = 0, limit: int = 100) -> tuple[list[Document], int]:
        """See :meth:`GraphStore.search_documents` (visible documents)."""
        needle = text.lower()
        ids = [d for d, row in self.data().documents.items() if needle in row[3].lower() or needle in row[1].lower()]
        page = ids[offset : offset + limit]
        return [doc for d in page if (doc := self._base.get_document(d)) is not None], len(ids)

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """See :meth:`GraphStore.get_chunks`."""
        chunks = self.data().chunks
        return self._base.get_chunks([c for c in chunk_ids if c in chunks])

    def document_titles(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """See :meth:`GraphStore.document_titles`."""
        docs = self.data().documents
        return {d: docs[d][3] for d in doc_ids if d in docs}

    # -- entities ------------------------------------------------------------------------

    def get_entity(self, entity_id: str) -> Entity | None:
        """See :meth:`GraphStore.get_entity`: name, type, aliases and description from visible support."""
        data = self.data()
        ent = data.entities.get(entity_id)
        if ent is None:
            return None
        mentions = data.mentions_by_entity.get(entity_id, [])
        n_chunks = len({m[0] for m in mentions})
        n_docs = len({m[1] for m in mentions})
        span: tuple[str, int, int] | None = None
        if mentions:
            cid, _, start, end, _, _ = mentions[0]
            found = self._base.get_chunks([cid])
            if found:
                span = (found[0].text, start - found[0].start, end - found[0].start)
        description = describe_entity(ent.type, n_chunks, n_docs, span)
        return Entity(ent.id, ent.name, ent.type, ent.aliases, description, ent.pinned)

    def entity_names(self, entity_ids: Sequence[str]) -> dict[str, str]:
        """See :meth:`GraphStore.entity_names`."""
        ents = self.data().entities
        return {e: ents[e].name for e in entity_ids if e in ents}

    def existing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """See :meth:`GraphStore.existing_entities`."""
        ents = self.data().entities
        return {e for e in entity_ids if e in ents}

    def search_entities(self, name: str, limit: int = 10) -> list[ScoredEntity]:
        """See :meth:`GraphStore.search_entities`: exact name or alias 1.0, alias prefixes less."""
        key = normalize_name(name, None, self._rules) or name.strip().lower()
        if not key:
            return []
        data = self.data()
        scores: dict[str, float] = {}
        for eid, norms in data.alias_norms.items():
            if key in norms or data.keys.get(eid) == key:
                scores[eid] = 1.0
        for eid, norms in data.alias_norms.items():
            if eid in scores:
                continue
            prefixed = [len(n) for n in norms if n.startswith(key)]
            if prefixed:
                scores[eid] = 0.5 + 0.4 * len(key) / max(min(prefixed), 1)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [ScoredEntity(eid, score) for eid, score in ranked]

    def _ranked(self, rels: Iterable[VisibleRelation], limit: int) -> list[VisibleRelation]:
        return sorted(rels, key=lambda r: (-r.confidence, -len(r.evidence), r.id))[:limit]

    def neighbours(self, entity_id: str, limit: int = 50) -> list[Neighbour]:
        """See :meth:`GraphStore.neighbours`."""
        data = self.data()
        rels = self._ranked((data.relations[r] for r in data.by_entity.get(entity_id, [])), limit)
        out: list[Neighbour] = []
        for rel in rels:
            other_id, direction = (rel.tail, "out") if rel.head == entity_id else (rel.head, "in")
            other = data.entities[other_id]
            out.append(Neighbour(_relation(rel), Entity(other.id, other.name, other.type), direction))
        return out

    def mentions_of(self, entity_id: str, limit: int = 50) -> list[Mention]:
        """See :meth:`GraphStore.mentions_of`."""
        rows = self.data().mentions_by_entity.get(entity_id, [])[:limit]
        return [Mention(m[0], m[2], m[3], m[4], m[5]) for m in rows]

    def chunk_entities(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        """See :meth:`GraphStore.chunk_entities`."""
        wanted = set(chunk_ids)
        out: dict[str, list[str]] = {c: [] for c in chunk_ids}
        seen: set[tuple[str, str]] = set()
        for m in self.data().mentions:
            if m[0] in wanted and (m[0], m[5]) not in seen:
                seen.add((m[0], m[5]))
                out[m[0]].append(m[5])
        return out

    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        """See :meth:`GraphStore.relations_between`."""
        ids = set(entity_ids)
        data = self.data()
        rels = {r for e in ids for r in data.by_entity.get(e, [])}
        found = (data.relations[r] for r in rels if data.relations[r].head in ids and data.relations[r].tail in ids)
        return [_relation(r) for r in self._ranked(found, 10_000)]

    def best_evidence(self, relation_ids: Sequence[str]) -> dict[str, RelationEvidence]:
        """See :meth:`GraphStore.best_evidence`."""
        rels = self.data().relations
        return {r: rels[r].evidence[0] for r in relation_ids if r in rels}

    def entity_keys(self) -> list[tuple[str, str]]:
        """See :meth:`GraphStore.entity_keys`."""
        return sorted((n, e) for e, norms in self.data().alias_norms.items() for n in norms)

    def mention_pairs(self) -> list[tuple[str, str, str]]:
        """See :meth:`GraphStore.mention_pairs`."""
        return sorted({(m[0], m[1], m[5]) for m in self.data().mentions}, key=lambda p: (p[0], p[2]))

    def relation_pairs(self) -> list[tuple[str, str, str, str, float]]:
        """See :meth:`GraphStore.relation_pairs`."""
        return [(r.id, r.head, r.tail, r.type, r.confidence) for _, r in sorted(self.data().relations.items())]

    def entity_documents(self, entity_ids: Sequence[str]) -> list[str]:
        """See :meth:`GraphStore.entity_documents`."""
        docs = self.data().docs_by_entity
        return sorted({d for e in dict.fromkeys(entity_ids) for d in docs.get(e, ())})

    def model_stamp(self, kind: str) -> str | None:
        """See :meth:`GraphStore.model_stamp` (the store's: it names no document)."""
        return self._base.model_stamp(kind)

    def save_model_stamp(self, kind: str, body: str) -> None:
        """Refused: see the class docstring."""
        raise self._read_only()

    def curation_rules(self) -> dict[str, str]:
        """See :meth:`GraphStore.curation_rules` (the collection's rules: they name no document)."""
        return self._base.curation_rules()

    def snapshot(self) -> GraphSnapshot:
        """See :meth:`GraphStore.snapshot`: the visible rows."""
        data = self.data()
        ents = data.entities
        return GraphSnapshot(
            version=self.version(),
            documents=list(data.documents.values()),
            chunks=sorted((c, *row) for c, row in data.chunks.items()),
            entities=[(e.id, e.name, e.type, data.keys[e.id], e.pinned) for _, e in sorted(ents.items())],
            aliases=list(data.aliases),
            mentions=list(data.mentions),
            relations=[(r.id, r.head, r.type, r.tail) for _, r in sorted(data.relations.items())],
            evidence=[(r.id, v.chunk_id, v.doc_id, v.start, v.end, v.confidence)
                      for _, r in sorted(data.relations.items()) for v in r.evidence],
        )

    def version(self) -> str:
        """See :meth:`GraphStore.version`: the store's version for this viewer."""
        return f"{self._base.version()}|{self.viewer.key}"

    def stats(self) -> StoreStats:
        """See :meth:`GraphStore.stats` (visible rows)."""
        data = self.data()
        return StoreStats(len(data.documents), len(data.chunks), len(data.entities), len(data.relations),
                          len(data.mentions))

    def type_census(self) -> TypeCensus:
        """See :meth:`GraphStore.type_census` (visible entities and relations, with their visible types)."""
        data = self.data()
        types: dict[str, int] = {}
        for e in data.entities.values():
            types[e.type] = types.get(e.type, 0) + 1
        triples: dict[tuple[str, str, str], int] = {}
        for r in data.relations.values():
            key = (r.type, data.entities[r.head].type, data.entities[r.tail].type)
            triples[key] = triples.get(key, 0) + 1
        return TypeCensus(types, triples)

    def close(self) -> None:
        """Nothing to release: the underlying store is closed by its owner."""

