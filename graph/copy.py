"""Copying a whole store into another one, of any adapters, through the ports: what backup and restore do.

A store is read back as the :class:`~graph.model.DocumentBundle` each document would be written
with (its document, chunks, mentions, the entities it supports with the surfaces it gives them,
its relation evidence) and the stored vectors of every vector space; the bundles are written to
the target through :meth:`KnowledgeStore.write`, so that every adapter derives what it derives
(entity names and types from their support, relation confidence, indexes) as it does at ingest.
:func:`compare` then checks that the copy holds exactly the rows and vectors of the source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np

from core.errors import StoreError
from graph.knowledge import KnowledgeStore
from graph.model import (
    Chunk,
    Document,
    DocumentBundle,
    Entity,
    GraphSnapshot,
    Mention,
    Relation,
    RelationEvidence,
)
from graph.normalize import normalize_name
from graph.ontology import AliasRules
from graph.ports import GraphStore, Vector, VectorStore

BATCH_DOCUMENTS = 64
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class _Rows:
    """The snapshot's rows grouped by document (and the entities' own rows by id)."""

    chunks: dict[str, list[tuple[str, str, int, int]]] = field(default_factory=lambda: defaultdict(list))
    mentions: dict[str, list[tuple[str, str, int, int, str, str]]] = field(default_factory=lambda: defaultdict(list))
    aliases: dict[str, list[tuple[str, str, str, str, int, str]]] = field(default_factory=lambda: defaultdict(list))
    evidence: dict[str, list[tuple[str, str, str, int, int, float]]] = field(default_factory=lambda: defaultdict(list))
    entities: dict[str, tuple[str, str, str, str, bool]] = field(default_factory=dict)
    relations: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, snap: GraphSnapshot) -> _Rows:
        rows = cls()
        for c in snap.chunks:
            rows.chunks[c[1]].append(c)
        for m in snap.mentions:
            rows.mentions[m[1]].append(m)
        for a in snap.aliases:
            rows.aliases[a[3]].append(a)
        for ev in snap.evidence:
            rows.evidence[ev[2]].append(ev)
        rows.entities = {e[0]: e for e in snap.entities}
        rows.relations = {r[0]: r for r in snap.relations}
        return rows


def _entity(row: tuple[str, str, str, str, bool], aliases: list[str], rules: AliasRules) -> Entity:
    """The entity as a bundle carries it: named so that the target derives the stored key (the key is the
    first writer's name, normalised; a later rename changes the name but not the key)."""
    eid, name, etype, key, pinned = row
    if normalize_name(name, etype, rules) != key:
        name = next((s for s in aliases if normalize_name(s, etype, rules) == key), name)
    return Entity(eid, name, etype, tuple(aliases), pinned=bool(pinned))


def _matrix(chunks: Sequence[Chunk], stored: Mapping[str, Vector]) -> Vector:
    missing = [c.id for c in chunks if c.id not in stored]
    if missing:
        raise StoreError(f"{len(missing)} chunk(s) without a vector, e.g. {missing[0]!r} (the store changed while "
                         "it was read)")
    return np.stack([stored[c.id] for c in chunks]) if chunks else np.empty((0, 0), dtype=np.float32)


def with_vectors(bundles: Sequence[DocumentBundle], vectors: VectorStore) -> list[DocumentBundle]:
    """The same bundles with the chunk vectors ``vectors`` holds (another vector space's).

    Raises:
        StoreError: a chunk has no vector there.
    """
    stored = vectors.chunk_vectors([c.id for b in bundles for c in b.chunks])
    return [replace(b, chunk_vectors=_matrix(b.chunks, stored)) for b in bundles]


def read_bundles(graph: GraphStore, vectors: VectorStore, rows: _Rows, docs: Sequence[Document],
                 rules: AliasRules) -> list[DocumentBundle]:
    """The bundles of ``docs`` (chunk texts from ``graph``, chunk vectors from ``vectors``).

    Raises:
        StoreError: a chunk or chunk vector is missing (the store changed while it was read).
    """
    chunk_ids = [c[0] for d in docs for c in rows.chunks.get(d.id, [])]
    texts = {c.id: c.text for c in graph.get_chunks(chunk_ids)}
    stored = vectors.chunk_vectors(chunk_ids)
    bundles: list[DocumentBundle] = []
    for doc in docs:
        doc_id = doc.id
        missing = [c[0] for c in rows.chunks.get(doc_id, []) if c[0] not in texts]
        if missing:
            raise StoreError(f"document {doc_id!r}: {len(missing)} chunk(s) without text, e.g. {missing[0]!r}")
        chunks = tuple(Chunk(c[0], c[1], c[2], c[3], texts[c[0]]) for c in rows.chunks.get(doc_id, []))
        surfaces: dict[str, list[str]] = defaultdict(list)
        types: dict[str, str] = {}
        for eid, _norm, surface, _doc, _count, etype in rows.aliases.get(doc_id, []):
            surfaces[eid].append(surface)
            types[eid] = etype
        mentions = tuple(Mention(m[0], m[2], m[3], m[4], m[5]) for m in rows.mentions.get(doc_id, []))
        for m in mentions:
            surfaces.setdefault(m.entity_id, [])
        entities = []
        for eid, names in surfaces.items():
            row = rows.entities[eid]
            if not row[4] and types.get(eid):  # an unpinned entity's type in this document
                row = (row[0], row[1], types[eid], row[3], row[4])
            entities.append(_entity(row, names, rules))
        evidence: dict[str, list[RelationEvidence]] = defaultdict(list)
        for rid, cid, did, start, end, conf in rows.evidence.get(doc_id, []):
            evidence[rid].append(RelationEvidence(cid, did, start, end, conf))
        relations = tuple(
            Relation(rid, rows.relations[rid][1], rows.relations[rid][2], rows.relations[rid][3],
                     max(e.confidence for e in evs), tuple(evs))
            for rid, evs in evidence.items() if rid in rows.relations
        )
        bundles.append(DocumentBundle(doc, chunks, tuple(entities), mentions, relations, _matrix(chunks, stored)))
    return bundles


def copy_store(source: KnowledgeStore, source_spaces: Mapping[str, VectorStore], target: KnowledgeStore,
               target_spaces: Mapping[str, VectorStore], snap: GraphSnapshot, rules: AliasRules,
               stamps: Sequence[str], progress: Progress | None = None) -> None:
    """Write every document of ``snap`` (read from ``source``) into the empty ``target``, with the vectors of the
    active space (``source.vectors`` to ``target.vectors``) and of every other space (``source_spaces[s]`` to
    ``target_spaces[s]``), then the curation records and the model stamps named ``stamps``.

    Raises:
        StoreError: a store failed or ``source`` changed while it was read.
    """
    rows = _Rows.of(snap)
    doc_ids = [d[0] for d in snap.documents]
    spaces = [(source.vectors, target.vectors), *((v, target_spaces[s]) for s, v in sorted(source_spaces.items()))]
    with_vector = [v.entity_ids() for v, _ in spaces]
    written: list[set[str]] = [set() for _ in spaces]
    for start in range(0, len(doc_ids), BATCH_DOCUMENTS):
        part = doc_ids[start : start + BATCH_DOCUMENTS]
        docs = source.graph.list_documents(start, BATCH_DOCUMENTS)
        if [d.id for d in docs] != part:
            raise StoreError("the documents changed while the store was read")
        first = read_bundles(source.graph, source.vectors, rows, docs, rules)
        for n, (src, dst) in enumerate(spaces):
            bundles = first if n == 0 else with_vectors(first, src)
            entity_ids = sorted({e.id for b in bundles for e in b.entities} & with_vector[n] - written[n])
            found = src.entity_vectors(entity_ids)
            if len(found) != len(entity_ids):
                raise StoreError(f"{len(entity_ids) - len(found)} entity vector(s) vanished while the store was read")
            matrix = np.stack([found[e] for e in entity_ids]) if entity_ids else None
            if n == 0:
                target.write(bundles, entity_ids, matrix)
            else:
                dst.write_documents(bundles)
                if matrix is not None:
                    dst.upsert_entities(entity_ids, matrix)
            written[n].update(entity_ids)
        if progress is not None:
            progress(min(start + BATCH_DOCUMENTS, len(doc_ids)), len(doc_ids))
    if progress is not None and not doc_ids:
        progress(0, 0)
    target.graph.save_curation_rules(dict(source.graph.curation_rules()))
    for kind in stamps:
        body = source.graph.model_stamp(kind)
        if body is not None:
            target.graph.save_model_stamp(kind, body)


def snapshot_rows(snap: GraphSnapshot) -> dict[str, list[object]]:
    """The snapshot's rows by table, sorted, without its version token (two stores holding the same graph
    give equal rows)."""
    return {f.name: sorted(getattr(snap, f.name), key=repr) for f in fields(snap) if f.name != "version"}


def compare(expected: GraphSnapshot, got: GraphSnapshot) -> list[str]:
    """What differs between two snapshots, per table (empty when they hold the same rows)."""
    want, have = snapshot_rows(expected), snapshot_rows(got)
    problems = []
    for table, rows in want.items():
        if rows != have[table]:
            missing = len({repr(r) for r in rows} - {repr(r) for r in have[table]})
            extra = len({repr(r) for r in have[table]} - {repr(r) for r in rows})
            problems.append(f"{table}: {len(rows)} row(s) expected, {len(have[table])} found "
                            f"({missing} missing, {extra} unexpected)")
    return problems


def compare_vectors(expected: VectorStore, got: VectorStore) -> list[str]:
    """What differs between the chunk and entity ids two vector stores hold (and a sample of the vectors)."""
    problems = []
    want, have = expected.chunk_docs(), got.chunk_docs()
    if want != have:
        problems.append(f"chunk vectors: {len(want)} expected, {len(have)} found")
    want_e, have_e = expected.entity_ids(), got.entity_ids()
    if want_e != have_e:
        problems.append(f"entity vectors: {len(want_e)} expected, {len(have_e)} found")
    sample = sorted(want)[:: max(1, len(want) // 50)]
    a, b = expected.chunk_vectors(sample), got.chunk_vectors(sample)
    differ = [c for c in sample if c in a and c in b and not np.array_equal(a[c], b[c])]
    if differ:
        problems.append(f"chunk vectors: {len(differ)} of {len(sample)} sampled differ, e.g. {differ[0]!r}")
    return problems
