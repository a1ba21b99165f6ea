"""Neo4j GraphStore: the entity graph on a Neo4j 5 server, same semantics as the embedded one.

The model and every Cypher statement are in :mod:`graph.neo4j.queries`. Each
``write_documents`` / ``delete_document`` call is one transaction made of a few
``UNWIND`` batch statements, whatever the number of documents. The driver is
the synchronous one (the ports are synchronous); see :mod:`graph.neo4j.connection`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import neo4j

from core.errors import NotFoundError
from graph.aliases import alias_rows
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
from graph.neo4j.connection import Neo4jConnection
from graph.normalize import normalize_name
from graph.ontology import AliasRules
from graph.ports import GraphStore

_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/\s])')
_BATCH = 5000  # ids per UNWIND parameter list in reads


def _document(r: neo4j.Record) -> Document:
    return Document(
        id=r["id"],
        source=r["source"],
        sha256=r["sha256"],
        title=r["title"],
        text=r["text"],
        metadata=json.loads(r["metadata"]),
        acl=tuple(r["acl"]),
    )


def _relation(r: neo4j.Record) -> Relation:
    evidence = tuple(
        RelationEvidence(v["chunk_id"], v["doc_id"], int(v["start"]), int(v["end"]), float(v["confidence"]))
        for v in r["evidence"]
    )
    return Relation(r["id"], r["head"], r["type"], r["tail"], float(r["confidence"]), evidence)


def _dedupe_last(bundles: Sequence[DocumentBundle]) -> list[DocumentBundle]:
    """One bundle per document id, the last one winning (it replaces the earlier ones)."""
    return list({b.document.id: b for b in bundles}.values())


class Neo4jGraphStore(GraphStore):
    """GraphStore over a Neo4j server."""

    def __init__(self, conn: Neo4jConnection, alias_rules: AliasRules) -> None:
        """Use an open connection (schema already created).

        Args:
            conn: the connection; closed by :meth:`close`.
            alias_rules: the ontology's alias rules (name normalisation).
        """
        self._conn = conn
        self._q = conn.q
        self._rules = alias_rules

    # -- writes -----------------------------------------------------------------

    def write_documents(self, bundles: Sequence[DocumentBundle]) -> list[str]:
        """See :meth:`GraphStore.write_documents`: one transaction for the whole batch.

        Returns:
            Entity ids that lost their last support and were removed, sorted.

        Raises:
            StoreUnavailableError: the server cannot be reached; nothing was written.
            StoreError: the write failed; nothing was written.
        """
        unique = _dedupe_last(bundles)
        rows = self._rows(unique)
        doc_ids = [b.document.id for b in unique]
        new_relations = list(dict.fromkeys(r["id"] for r in rows["relations"]))

        def work(tx: neo4j.ManagedTransaction) -> list[str]:
            ents, rels = self._remove_contribution(tx, doc_ids)
            tx.run(self._q.INSERT_DOCUMENTS, rows=rows["documents"]).consume()
            for query, key in (
                (self._q.INSERT_CHUNKS, "chunks"),
                (self._q.MERGE_ENTITIES, "entities"),
                (self._q.INSERT_ALIASES, "aliases"),
                (self._q.INSERT_MENTIONS, "mentions"),
                (self._q.MERGE_RELATIONS, "relations"),
                (self._q.INSERT_EVIDENCE, "evidence"),
            ):
                if rows[key]:
                    tx.run(query, rows=rows[key]).consume()
            inserted = [r["id"] for r in rows["entities"]]
            return self._collect_orphans(tx, ents, rels, new_relations, inserted)

        return self._conn.write(work)

    def delete_document(self, doc_id: str) -> list[str]:
        """See :meth:`GraphStore.delete_document`.

        Returns:
            Entity ids that lost their last support and were removed, sorted.

        Raises:
            NotFoundError: no such document.
            StoreUnavailableError, StoreError: the server failed; nothing was deleted.
        """

        def work(tx: neo4j.ManagedTransaction) -> list[str]:
            if tx.run(self._q.DOCUMENT_EXISTS, doc_id=doc_id).single(strict=True)["n"] == 0:
                raise NotFoundError(f"no document {doc_id!r}")
            ents, rels = self._remove_contribution(tx, [doc_id])
            return self._collect_orphans(tx, ents, rels, [])

        return self._conn.write(work)

    def _rows(self, bundles: list[DocumentBundle]) -> dict[str, list[dict[str, Any]]]:
        """The UNWIND parameter lists of a batch."""
        now = time.time()
        rows: dict[str, list[dict[str, Any]]] = {k: [] for k in (
            "documents", "chunks", "entities", "aliases", "mentions", "relations", "evidence")}
        for b in bundles:
            doc = b.document
            rows["documents"].append({
                "id": doc.id, "source": doc.source, "sha256": doc.sha256, "title": doc.title, "text": doc.text,
                "metadata": json.dumps(doc.metadata), "acl": list(doc.acl), "ingested_at": now,
            })
            rows["chunks"] += [
                {"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": c.text} for c in b.chunks
            ]
            rows["entities"] += [
                {"id": e.id, "name": e.name, "type": e.type, "key": normalize_name(e.name, e.type, self._rules),
                 "pinned": e.pinned}
                for e in b.entities
            ]
            rows["aliases"] += [
                {"entity_id": a.entity_id, "norm": a.norm, "surface": a.surface, "doc_id": doc.id, "count": a.mentions,
                 "type": a.type}
                for a in alias_rows(b, self._rules)
            ]
            rows["mentions"] += [
                {"chunk_id": m.chunk_id, "doc_id": doc.id, "start": m.start, "end": m.end,
                 "surface": m.surface, "entity_id": m.entity_id}
                for m in b.mentions
            ]
            rows["relations"] += [{"id": r.id, "head": r.head, "type": r.type, "tail": r.tail} for r in b.relations]
            rows["evidence"] += [
                {"relation_id": r.id, "chunk_id": ev.chunk_id, "doc_id": doc.id, "start": ev.start,
                 "end": ev.end, "confidence": ev.confidence}
                for r in b.relations
                for ev in r.evidence
            ]
        return rows

    def _remove_contribution(self, tx: neo4j.ManagedTransaction, doc_ids: list[str]) -> tuple[list[str], list[str]]:
        ents: list[str] = tx.run(self._q.TOUCHED_ENTITIES, doc_ids=doc_ids).single(strict=True)["ids"]
        rels: list[str] = tx.run(self._q.TOUCHED_RELATIONS, doc_ids=doc_ids).single(strict=True)["ids"]
        tx.run(self._q.REMOVE_CONTRIBUTION, doc_ids=doc_ids).consume()
        return ents, rels

    def _collect_orphans(
        self, tx: neo4j.ManagedTransaction, ents: list[str], rels: list[str], new_relations: list[str],
        inserted: Sequence[str] = (),
    ) -> list[str]:
        """Drop what lost its last support; refresh names and relation confidences; bump the version."""
        refresh = list(dict.fromkeys([*rels, *new_relations]))
        if refresh:
            tx.run(self._q.REFRESH_RELATIONS, ids=refresh).consume()
        if rels:
            tx.run(self._q.DROP_UNSUPPORTED_RELATIONS, ids=rels).consume()
        removed: list[str] = []
        if ents:
            removed = [r["eid"] for r in tx.run(self._q.DROP_ORPHAN_ENTITIES, ids=ents)]
        gone = set(removed)
        renamed = [e for e in dict.fromkeys([*ents, *inserted]) if e not in gone]
        if renamed:  # names over every document, whatever order they were written in
            tx.run(self._q.RENAME_ENTITIES, ids=renamed).consume()
        tx.run(self._q.BUMP_VERSION).consume()
        return sorted(removed)

    # -- documents and chunks ---------------------------------------------------------

    def document_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """See :meth:`GraphStore.document_hashes`."""
        ids = list(doc_ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), _BATCH):
            batch = self._conn.read(self._q.DOCUMENT_HASHES, ids=ids[i : i + _BATCH])
            out.update({r["id"]: r["sha256"] for r in batch})
        return out

    def get_document(self, doc_id: str) -> Document | None:
        """See :meth:`GraphStore.get_document`."""
        records = self._conn.read(self._q.GET_DOCUMENT, id=doc_id)
        return _document(records[0]) if records else None

    def find_documents(self, key: str) -> list[Document]:
        """See :meth:`GraphStore.find_documents`."""
        return [_document(r) for r in self._conn.read(self._q.FIND_DOCUMENTS, key=key)]

    def list_documents(self, offset: int = 0, limit: int = 100) -> list[Document]:
        """See :meth:`GraphStore.list_documents`."""
        return [_document(r) for r in self._conn.read(self._q.LIST_DOCUMENTS, offset=offset, limit=limit)]

    def search_documents(self, text: str, offset: int = 0, limit: int = 100) -> tuple[list[Document], int]:
        """See :meth:`GraphStore.search_documents`."""
        needle = text.lower()
        rows = self._conn.read(self._q.SEARCH_DOCUMENTS, text=needle, offset=offset, limit=limit)
        total = self._conn.read(self._q.COUNT_DOCUMENT_MATCHES, text=needle)
        return [_document(r) for r in rows], int(total[0]["n"])

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """See :meth:`GraphStore.get_chunks`."""
        ids = list(chunk_ids)
        found: dict[str, Chunk] = {}
        for i in range(0, len(ids), _BATCH):
            for r in self._conn.read(self._q.GET_CHUNKS, ids=ids[i : i + _BATCH]):
                found[r["id"]] = Chunk(r["id"], r["doc_id"], int(r["start"]), int(r["end"]), r["text"])
        return [found[c] for c in ids if c in found]

    # -- entities ---------------------------------------------------------------------

    def get_entity(self, entity_id: str) -> Entity | None:
        """See :meth:`GraphStore.get_entity`."""
        records = self._conn.read(self._q.GET_ENTITY, id=entity_id)
        if not records:
            return None
        row = records[0]
        aliases = tuple(r["surface"] for r in self._conn.read(self._q.ENTITY_ALIASES, id=entity_id))
        counts = self._conn.read(self._q.ENTITY_MENTION_COUNTS, id=entity_id)[0]
        first = self._conn.read(self._q.ENTITY_FIRST_MENTION, id=entity_id)
        span = (first[0]["text"], int(first[0]["start"]), int(first[0]["end"])) if first else None
        description = describe_entity(row["type"], int(counts["chunks"]), int(counts["docs"]), span)
        return Entity(row["id"], row["name"], row["type"], aliases, description, bool(row["pinned"]))

    def existing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """See :meth:`GraphStore.existing_entities`."""
        ids = list(entity_ids)
        out: set[str] = set()
        for i in range(0, len(ids), _BATCH):
            out |= {r["id"] for r in self._conn.read(self._q.EXISTING_ENTITIES, ids=ids[i : i + _BATCH])}
        return out

    def search_entities(self, name: str, limit: int = 10) -> list[ScoredEntity]:
        """See :meth:`GraphStore.search_entities`.

        Exact matches of the normalised name (alias norm or entity key) score 1.0;
        aliases that start with it score ``0.5 + 0.4 * len(key) / len(shortest alias)``
        (found through the full-text index ``hopgraph_alias_prefix``).
        """
        key = normalize_name(name, None, self._rules) or name.strip().lower()
        if not key:
            return []
        scores = {r["id"]: 1.0 for r in self._conn.read(self._q.EXACT_ENTITIES, key=key)}
        prefix = _LUCENE_SPECIAL.sub(r"\\\1", key) + "*"
        for r in self._conn.read(self._q.PREFIX_ENTITIES, query=prefix, limit=limit * 4):
            scores.setdefault(r["id"], 0.5 + 0.4 * len(key) / max(int(r["shortest"]), 1))
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [ScoredEntity(eid, score) for eid, score in ranked]

    def neighbours(self, entity_id: str, limit: int = 50) -> list[Neighbour]:
        """See :meth:`GraphStore.neighbours`."""
        out: list[Neighbour] = []
        for r in self._conn.read(self._q.NEIGHBOURS, id=entity_id, limit=limit):
            rel = _relation(r)
            if rel.head == entity_id:
                out.append(Neighbour(rel, Entity(r["tail"], r["tail_name"], r["tail_type"]), "out"))
            else:
                out.append(Neighbour(rel, Entity(r["head"], r["head_name"], r["head_type"]), "in"))
        return out

    def mentions_of(self, entity_id: str, limit: int = 50) -> list[Mention]:
        """See :meth:`GraphStore.mentions_of`."""
        return [
            Mention(r["chunk_id"], int(r["start"]), int(r["end"]), r["surface"], r["entity_id"])
            for r in self._conn.read(self._q.MENTIONS_OF, id=entity_id, limit=limit)
        ]

    def chunk_entities(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        """See :meth:`GraphStore.chunk_entities`."""
        out: dict[str, list[str]] = {c: [] for c in chunk_ids}
        ids = list(out)
        for i in range(0, len(ids), _BATCH):
            for r in self._conn.read(self._q.CHUNK_ENTITIES, ids=ids[i : i + _BATCH]):
                out[r["chunk_id"]].append(r["entity_id"])
        return out

    def entity_names(self, entity_ids: Sequence[str]) -> dict[str, str]:
        """See :meth:`GraphStore.entity_names`."""
        ids = list(dict.fromkeys(entity_ids))
        return {r["id"]: r["name"] for r in self._conn.read(self._q.ENTITY_NAMES, ids=ids)} if ids else {}

    def document_titles(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """See :meth:`GraphStore.document_titles`."""
        ids = list(dict.fromkeys(doc_ids))
        return {r["id"]: r["title"] for r in self._conn.read(self._q.DOCUMENT_TITLES, ids=ids)} if ids else {}

    def best_evidence(self, relation_ids: Sequence[str]) -> dict[str, RelationEvidence]:
        """See :meth:`GraphStore.best_evidence`."""
        ids = list(dict.fromkeys(relation_ids))
        if not ids:
            return {}
        return {
            r["relation_id"]: RelationEvidence(r["chunk_id"], r["doc_id"], r["start"], r["end"], r["confidence"])
            for r in self._conn.read(self._q.BEST_EVIDENCE, ids=ids)
        }

    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        """See :meth:`GraphStore.relations_between`."""
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return []
        return [_relation(r) for r in self._conn.read(self._q.RELATIONS_BETWEEN, ids=ids, limit=10_000)]

    # -- bulk reads, version, stats -----------------------------------------------------

    def entity_keys(self) -> list[tuple[str, str]]:
        """See :meth:`GraphStore.entity_keys`."""
        return [(r["norm"], r["entity_id"]) for r in self._conn.read(self._q.ENTITY_KEYS)]

    def mention_pairs(self) -> list[tuple[str, str, str]]:
        """See :meth:`GraphStore.mention_pairs`."""
        return [(r["chunk_id"], r["doc_id"], r["entity_id"]) for r in self._conn.read(self._q.MENTION_PAIRS)]

    def relation_pairs(self) -> list[tuple[str, str, str, str, float]]:
        """See :meth:`GraphStore.relation_pairs`."""
        return [
            (r["id"], r["head"], r["tail"], r["type"], float(r["confidence"]))
            for r in self._conn.read(self._q.RELATION_PAIRS)
        ]

    def entity_documents(self, entity_ids: Sequence[str]) -> list[str]:
        """See :meth:`GraphStore.entity_documents`."""
        ids = list(dict.fromkeys(entity_ids))
        return [r["doc_id"] for r in self._conn.read(self._q.ENTITY_DOCUMENTS, ids=ids)] if ids else []

    def curation_rules(self) -> dict[str, str]:
        """See :meth:`GraphStore.curation_rules`."""
        return {r["key"]: r["body"] for r in self._conn.read(self._q.CURATION_RULES)}

    def save_curation_rules(self, rules: Mapping[str, str | None]) -> None:
        """See :meth:`GraphStore.save_curation_rules`: one transaction."""
        rows = [{"key": k, "body": b} for k, b in rules.items() if b is not None]
        gone = [k for k, b in rules.items() if b is None]

        def work(tx: neo4j.ManagedTransaction) -> None:
            if rows:
                tx.run(self._q.PUT_CURATION_RULES, rows=rows).consume()
            if gone:
                tx.run(self._q.DELETE_CURATION_RULES, keys=gone).consume()
            tx.run(self._q.BUMP_VERSION).consume()

        self._conn.write(work)

    def model_stamp(self, kind: str) -> str | None:
        """See :meth:`GraphStore.model_stamp` (a meta node)."""
        records = self._conn.read(self._q.MODEL_STAMP, key=f"model:{kind}")
        return str(records[0]["body"]) if records and records[0]["body"] is not None else None

    def save_model_stamp(self, kind: str, body: str) -> None:
        """See :meth:`GraphStore.save_model_stamp`."""
        self._conn.run_write(self._q.PUT_MODEL_STAMP, key=f"model:{kind}", body=body)

    def snapshot(self) -> GraphSnapshot:
        """See :meth:`GraphStore.snapshot`: one read transaction; rows sorted here as the port says."""
        q = self._q
        meta, docs, chunks, ents, aliases, mentions, rels, evidence = self._conn.read_many([
            q.SNAPSHOT_VERSION, q.SNAPSHOT_DOCUMENTS, q.SNAPSHOT_CHUNKS, q.SNAPSHOT_ENTITIES, q.SNAPSHOT_ALIASES,
            q.SNAPSHOT_MENTIONS, q.SNAPSHOT_RELATIONS, q.SNAPSHOT_EVIDENCE,
        ])
        version = meta[0]["v"] if meta and meta[0]["v"] is not None else "0"
        return GraphSnapshot(
            version=str(version),
            documents=sorted((r["id"], r["source"], r["sha256"], r["title"], json.loads(r["metadata"]),
                              tuple(r["acl"] or ())) for r in docs),
            chunks=sorted((r["id"], r["doc_id"], int(r["start"]), int(r["end"])) for r in chunks),
            entities=sorted((r["id"], r["name"], r["type"], r["key"], bool(r["pinned"])) for r in ents),
            aliases=sorted((r["entity_id"], r["norm"], r["surface"], r["doc_id"], int(r["count"]), r["type"])
                           for r in aliases),
            mentions=sorted(((r["chunk_id"], r["doc_id"], int(r["start"]), int(r["end"]), r["surface"], r["entity_id"])
                             for r in mentions), key=lambda m: (m[1], m[2], m[0], m[5], m[3], m[4])),
            relations=sorted((r["id"], r["head"], r["type"], r["tail"]) for r in rels),
            evidence=sorted(((r["relation_id"], r["chunk_id"], r["doc_id"], int(r["start"]), int(r["end"]),
                              float(r["confidence"])) for r in evidence),
                            key=lambda v: (v[0], -v[5], v[1], v[2], v[3])),
        )

    def version(self) -> str:
        """See :meth:`GraphStore.version`: ``epoch:generation`` of the database's meta node."""
        records = self._conn.read(self._q.VERSION)
        return str(records[0]["token"]) if records else "0"

    def stats(self) -> StoreStats:
        """See :meth:`GraphStore.stats`."""
        r = self._conn.read(self._q.STATS)[0]
        return StoreStats(int(r["documents"]), int(r["chunks"]), int(r["entities"]), int(r["relations"]),
                          int(r["mentions"]))

    def type_census(self) -> TypeCensus:
        """See :meth:`GraphStore.type_census` (relations only while they have evidence, as every read)."""
        types = self._conn.read(self._q.ENTITY_TYPE_COUNTS)
        triples = self._conn.read(self._q.RELATION_TYPE_COUNTS)
        return TypeCensus({str(r["type"]): int(r["n"]) for r in types},
                          {(str(r["type"]), str(r["head"]), str(r["tail"])): int(r["n"]) for r in triples})

    def close(self) -> None:
        """See :meth:`GraphStore.close`: closes the driver."""
        self._conn.close()
