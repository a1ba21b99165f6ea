"""Embedded GraphStore: entity graph tables in the shared SQLite database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

from core.errors import NotFoundError
from graph.embedded import sql, writes
from graph.embedded.database import EmbeddedDatabase
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


def _document(row: sqlite3.Row | tuple[object, ...]) -> Document:
    return Document(
        id=str(row[0]),
        source=str(row[1]),
        sha256=str(row[2]),
        title=str(row[3]),
        text=str(row[4]),
        metadata=json.loads(str(row[5])),
        acl=tuple(json.loads(str(row[6]))),
    )


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class EmbeddedGraphStore(GraphStore):
    """GraphStore over :class:`EmbeddedDatabase`."""

    def __init__(self, db: EmbeddedDatabase, alias_rules: AliasRules) -> None:
        self._db = db
        self._rules = alias_rules

    # -- writes -----------------------------------------------------------------

    def write_documents(self, bundles: Sequence[DocumentBundle]) -> list[str]:
        """See :meth:`GraphStore.write_documents`; returns entity ids removed as orphans."""
        touched_entities: set[str] = set()
        touched_relations: set[str] = set()
        with self._db.transaction() as conn:
            for bundle in bundles:
                ents, rels = writes.remove_contribution(conn, bundle.document.id)
                touched_entities |= ents
                touched_relations |= rels
                writes.insert_bundle(conn, bundle, self._rules)
            removed = writes.collect_orphans(conn, touched_entities, touched_relations)
            inserted = {e.id for b in bundles for e in b.entities}
            writes.rename(conn, (touched_entities | inserted) - set(removed))
            conn.execute(sql.BUMP)
        return removed

    def delete_document(self, doc_id: str) -> list[str]:
        """See :meth:`GraphStore.delete_document`."""
        with self._db.transaction() as conn:
            if conn.execute(sql.DOCUMENT_EXISTS, (doc_id,)).fetchone() is None:
                raise NotFoundError(f"no document {doc_id!r}")
            ents, rels = writes.remove_contribution(conn, doc_id)
            removed = writes.collect_orphans(conn, ents, rels)
            writes.rename(conn, ents - set(removed))
            conn.execute(sql.BUMP)
            return removed

    # -- reads ------------------------------------------------------------------

    def document_hashes(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """See :meth:`GraphStore.document_hashes`."""
        ids = list(doc_ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._db.query(
                f"SELECT id, sha256 FROM documents WHERE id IN ({_placeholders(len(part))})", part
            )
            out.update({str(r[0]): str(r[1]) for r in rows})
        return out

    def get_document(self, doc_id: str) -> Document | None:
        """See :meth:`GraphStore.get_document`."""
        rows = self._db.query(f"SELECT {sql.DOC_COLUMNS} FROM documents WHERE id=?", (doc_id,))
        return _document(rows[0]) if rows else None

    def find_documents(self, key: str) -> list[Document]:
        """See :meth:`GraphStore.find_documents`."""
        rows = self._db.query(
            f"SELECT {sql.DOC_COLUMNS} FROM documents WHERE id=? OR source=? ORDER BY id", (key, key)
        )
        return [_document(r) for r in rows]

    def list_documents(self, offset: int = 0, limit: int = 100) -> list[Document]:
        """See :meth:`GraphStore.list_documents`."""
        rows = self._db.query(
            f"SELECT {sql.DOC_COLUMNS} FROM documents ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_document(r) for r in rows]

    def search_documents(self, text: str, offset: int = 0, limit: int = 100) -> tuple[list[Document], int]:
        """See :meth:`GraphStore.search_documents`."""
        needle = text.lower()
        rows = self._db.query(sql.SEARCH_DOCUMENTS, (needle, needle, limit, offset))
        total = self._db.query(sql.COUNT_DOCUMENT_MATCHES, (needle, needle))
        return [_document(r) for r in rows], int(total[0][0])

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """See :meth:`GraphStore.get_chunks`."""
        found: dict[str, Chunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._db.query(
                f'SELECT id, doc_id, start, "end", text FROM chunks WHERE id IN ({_placeholders(len(part))})',
                part,
            )
            found.update({str(r[0]): Chunk(str(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows})
        return [found[c] for c in ids if c in found]

    def get_entity(self, entity_id: str) -> Entity | None:
        """See :meth:`GraphStore.get_entity`."""
        rows = self._db.query("SELECT id, name, type, pinned FROM entities WHERE id=?", (entity_id,))
        if not rows:
            return None
        aliases = [
            str(r[0])
            for r in self._db.query(
                "SELECT surface FROM aliases WHERE entity_id=? GROUP BY surface ORDER BY SUM(count) DESC",
                (entity_id,),
            )
        ]
        return Entity(
            id=str(rows[0][0]),
            name=str(rows[0][1]),
            type=str(rows[0][2]),
            aliases=tuple(aliases),
            description=self._describe(entity_id, str(rows[0][2])),
            pinned=bool(rows[0][3]),
        )

    def _describe(self, entity_id: str, entity_type: str) -> str:
        counts = self._db.query(
            "SELECT COUNT(DISTINCT chunk_id), COUNT(DISTINCT doc_id) FROM mentions WHERE entity_id=?",
            (entity_id,),
        )[0]
        first = self._db.query(
            'SELECT c.text, m.start - c.start, m."end" - c.start FROM mentions m'
            " JOIN chunks c ON c.id = m.chunk_id WHERE m.entity_id=? ORDER BY m.doc_id, m.start LIMIT 1",
            (entity_id,),
        )
        span = (str(first[0][0]), int(first[0][1]), int(first[0][2])) if first else None
        return describe_entity(entity_type, int(counts[0]), int(counts[1]), span)

    def entity_names(self, entity_ids: Sequence[str]) -> dict[str, str]:
        """See :meth:`GraphStore.entity_names`."""
        return self._lookup("SELECT id, name FROM entities WHERE id IN ({})", entity_ids)

    def document_titles(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """See :meth:`GraphStore.document_titles`."""
        return self._lookup("SELECT id, title FROM documents WHERE id IN ({})", doc_ids)

    def _lookup(self, query: str, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            out.update({str(r[0]): str(r[1]) for r in self._db.query(query.format(_placeholders(len(part))), part)})
        return out

    def existing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """See :meth:`GraphStore.existing_entities`."""
        ids = list(entity_ids)
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._db.query(f"SELECT id FROM entities WHERE id IN ({_placeholders(len(part))})", part)
            out |= {str(r[0]) for r in rows}
        return out

    def search_entities(self, name: str, limit: int = 10) -> list[ScoredEntity]:
        """See :meth:`GraphStore.search_entities`."""
        key = normalize_name(name, None, self._rules) or name.strip().lower()
        if not key:
            return []
        scores: dict[str, float] = {}
        for r in self._db.query(
            "SELECT DISTINCT entity_id FROM aliases WHERE norm=? UNION SELECT id FROM entities WHERE key=?",
            (key, key),
        ):
            scores[str(r[0])] = 1.0
        pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for r in self._db.query(
            "SELECT entity_id, MIN(LENGTH(norm)) FROM aliases WHERE norm LIKE ? ESCAPE '\\'"
            " GROUP BY entity_id LIMIT ?",
            (pattern, limit * 4),
        ):
            scores.setdefault(str(r[0]), 0.5 + 0.4 * len(key) / max(int(r[1]), 1))
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [ScoredEntity(eid, score) for eid, score in ranked]

    def _relations(self, where: str, params: Sequence[object], limit: int) -> list[Relation]:
        rows = self._db.query(
            f"SELECT r.id, r.head, r.type, r.tail, MAX(e.confidence) AS conf FROM relations r"
            f" JOIN evidence e ON e.relation_id = r.id WHERE {where}"
            f" GROUP BY r.id ORDER BY conf DESC, COUNT(*) DESC, r.id LIMIT ?",
            (*params, limit),
        )
        if not rows:
            return []
        ids = [str(r[0]) for r in rows]
        evidence: dict[str, list[RelationEvidence]] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for ev in self._db.query(
                f'SELECT relation_id, chunk_id, doc_id, start, "end", confidence FROM evidence'
                f" WHERE relation_id IN ({_placeholders(len(part))}) ORDER BY confidence DESC, chunk_id",
                part,
            ):
                evidence.setdefault(str(ev[0]), []).append(
                    RelationEvidence(str(ev[1]), str(ev[2]), int(ev[3]), int(ev[4]), float(ev[5]))
                )
        return [
            Relation(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4]), tuple(evidence.get(str(r[0]), ())))
            for r in rows
        ]

    def neighbours(self, entity_id: str, limit: int = 50) -> list[Neighbour]:
        """See :meth:`GraphStore.neighbours`."""
        rels = self._relations("r.head = ? OR r.tail = ?", (entity_id, entity_id), limit)
        out: list[Neighbour] = []
        for rel in rels:
            other_id, direction = (rel.tail, "out") if rel.head == entity_id else (rel.head, "in")
            other = self._entity_row(other_id)
            if other is not None:
                out.append(Neighbour(rel, other, direction))
        return out

    def _entity_row(self, entity_id: str) -> Entity | None:
        rows = self._db.query("SELECT id, name, type FROM entities WHERE id=?", (entity_id,))
        return Entity(str(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    def mentions_of(self, entity_id: str, limit: int = 50) -> list[Mention]:
        """See :meth:`GraphStore.mentions_of`."""
        rows = self._db.query(
            'SELECT chunk_id, start, "end", surface, entity_id FROM mentions WHERE entity_id=?'
            " ORDER BY doc_id, start LIMIT ?",
            (entity_id, limit),
        )
        return [Mention(str(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows]

    def chunk_entities(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        """See :meth:`GraphStore.chunk_entities`."""
        out: dict[str, list[str]] = {c: [] for c in chunk_ids}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in self._db.query(
                f"SELECT DISTINCT chunk_id, entity_id FROM mentions WHERE chunk_id IN ({_placeholders(len(part))})",
                part,
            ):
                out[str(r[0])].append(str(r[1]))
        return out

    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        """See :meth:`GraphStore.relations_between`."""
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return []
        marks = _placeholders(len(ids))
        return self._relations(f"r.head IN ({marks}) AND r.tail IN ({marks})", (*ids, *ids), 10_000)

    def best_evidence(self, relation_ids: Sequence[str]) -> dict[str, RelationEvidence]:
        """See :meth:`GraphStore.best_evidence`."""
        out: dict[str, RelationEvidence] = {}
        ids = list(dict.fromkeys(relation_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in self._db.query(
                f'SELECT relation_id, chunk_id, doc_id, start, "end", confidence FROM evidence'
                f" WHERE relation_id IN ({_placeholders(len(part))})"
                " ORDER BY confidence DESC, chunk_id, doc_id, start",
                part,
            ):
                out.setdefault(str(r[0]), RelationEvidence(str(r[1]), str(r[2]), int(r[3]), int(r[4]), float(r[5])))
        return out

    def entity_keys(self) -> list[tuple[str, str]]:
        """See :meth:`GraphStore.entity_keys`."""
        rows = self._db.query("SELECT DISTINCT norm, entity_id FROM aliases WHERE norm != ''")
        return [(str(r[0]), str(r[1])) for r in rows]

    def mention_pairs(self) -> list[tuple[str, str, str]]:
        """See :meth:`GraphStore.mention_pairs`."""
        rows = self._db.query("SELECT DISTINCT chunk_id, doc_id, entity_id FROM mentions ORDER BY chunk_id, entity_id")
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def relation_pairs(self) -> list[tuple[str, str, str, str, float]]:
        """See :meth:`GraphStore.relation_pairs`."""
        rows = self._db.query(
            "SELECT r.id, r.head, r.tail, r.type, MAX(e.confidence) FROM relations r"
            " JOIN evidence e ON e.relation_id = r.id GROUP BY r.id ORDER BY r.id"
        )
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows]

    def entity_documents(self, entity_ids: Sequence[str]) -> list[str]:
        """See :meth:`GraphStore.entity_documents`."""
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return []
        rows = self._db.query(sql.ENTITY_DOCUMENTS.format(ids=_placeholders(len(ids))), [*ids, *ids])
        return [str(r[0]) for r in rows]

    def curation_rules(self) -> dict[str, str]:
        """See :meth:`GraphStore.curation_rules`."""
        return {str(r[0]): str(r[1]) for r in self._db.query(sql.CURATION_RULES)}

    def save_curation_rules(self, rules: Mapping[str, str | None]) -> None:
        """See :meth:`GraphStore.save_curation_rules`."""
        with self._db.transaction() as conn:
            for key, body in rules.items():
                if body is None:
                    conn.execute(sql.DELETE_CURATION_RULE, (key,))
                else:
                    conn.execute(sql.PUT_CURATION_RULE, (key, body))
            conn.execute(sql.BUMP)

    def model_stamp(self, kind: str) -> str | None:
        """See :meth:`GraphStore.model_stamp` (the meta table)."""
        return self._db.get_meta(f"model:{kind}")

    def save_model_stamp(self, kind: str, body: str) -> None:
        """See :meth:`GraphStore.save_model_stamp`."""
        with self._db.transaction() as conn:
            conn.execute(sql.PUT_META, (f"model:{kind}", body))

    def snapshot(self) -> GraphSnapshot:
        """See :meth:`GraphStore.snapshot`: one read transaction."""
        meta, docs, chunks, ents, aliases, mentions, rels, evidence = self._db.read_many(list(sql.SNAPSHOT))
        return GraphSnapshot(
            version=str(meta[0][0]) if meta else "0",
            documents=[(str(r[0]), str(r[1]), str(r[2]), str(r[3]), json.loads(str(r[4])),
                        tuple(json.loads(str(r[5])))) for r in docs],
            chunks=[(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in chunks],
            entities=[(str(r[0]), str(r[1]), str(r[2]), str(r[3]), bool(r[4])) for r in ents],
            aliases=[(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5] or "")) for r in aliases],
            mentions=[(str(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4]), str(r[5])) for r in mentions],
            relations=[(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rels],
            evidence=[(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]), float(r[5])) for r in evidence],
        )

    def version(self) -> str:
        """See :meth:`GraphStore.version`."""
        return self._db.get_meta("graph_generation") or "0"

    def stats(self) -> StoreStats:
        """See :meth:`GraphStore.stats`."""
        row = self._db.query(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks),"
            " (SELECT COUNT(*) FROM entities), (SELECT COUNT(*) FROM relations),"
            " (SELECT COUNT(*) FROM mentions)"
        )[0]
        return StoreStats(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))

    def type_census(self) -> TypeCensus:
        """See :meth:`GraphStore.type_census`."""
        types = self._db.query("SELECT type, COUNT(*) FROM entities GROUP BY type")
        triples = self._db.query(
            "SELECT r.type, h.type, t.type, COUNT(*) FROM relations r JOIN entities h ON h.id = r.head"
            " JOIN entities t ON t.id = r.tail GROUP BY r.type, h.type, t.type"
        )
        return TypeCensus({str(t): int(n) for t, n in types},
                          {(str(r), str(h), str(t)): int(n) for r, h, t, n in triples})

    def close(self) -> None:
        """See :meth:`GraphStore.close` (the shared database is closed by its owner)."""
