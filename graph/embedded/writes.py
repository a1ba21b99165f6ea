"""The write side of the embedded graph store: insert a document's bundle, remove what a document
contributed, drop what no document supports any more, rename from the remaining support.

Each function runs inside the caller's transaction (``conn``); the store commits.
"""

from __future__ import annotations

import json
import sqlite3
import time

from graph.aliases import alias_rows
from graph.embedded import sql
from graph.model import DocumentBundle
from graph.normalize import normalize_name
from graph.ontology import AliasRules


def insert_bundle(conn: sqlite3.Connection, bundle: DocumentBundle, rules: AliasRules) -> None:
    """Insert the document with its chunks, entities, aliases, mentions, relations and evidence."""
    doc = bundle.document
    conn.execute(
        sql.INSERT_DOCUMENT,
        (doc.id, doc.source, doc.sha256, doc.title, doc.text, json.dumps(doc.metadata),
         json.dumps(list(doc.acl)), time.time()),
    )
    conn.executemany(sql.INSERT_CHUNK, [(c.id, c.doc_id, c.start, c.end, c.text) for c in bundle.chunks])
    conn.executemany(
        sql.INSERT_ENTITY,
        [(e.id, e.name, e.type, normalize_name(e.name, e.type, rules), int(e.pinned)) for e in bundle.entities],
    )
    conn.executemany(
        sql.UPSERT_ALIAS,
        [(a.entity_id, a.norm, a.surface, doc.id, a.mentions, a.type) for a in alias_rows(bundle, rules)],
    )
    conn.executemany(
        sql.INSERT_MENTION,
        [(m.chunk_id, doc.id, m.start, m.end, m.surface, m.entity_id) for m in bundle.mentions],
    )
    conn.executemany(sql.INSERT_RELATION, [(r.id, r.head, r.type, r.tail) for r in bundle.relations])
    conn.executemany(
        sql.INSERT_EVIDENCE,
        [(r.id, ev.chunk_id, doc.id, ev.start, ev.end, ev.confidence) for r in bundle.relations for ev in r.evidence],
    )


def remove_contribution(conn: sqlite3.Connection, doc_id: str) -> tuple[set[str], set[str]]:
    """Delete the document and its rows.

    Returns:
        The entities and relations it touched (candidates for :func:`collect_orphans`).
    """
    ents = {r[0] for r in conn.execute(sql.DOC_MENTIONED_ENTITIES, (doc_id,))}
    ents |= {r[0] for r in conn.execute(sql.DOC_ALIASED_ENTITIES, (doc_id,))}
    rels = {r[0] for r in conn.execute(sql.DOC_EVIDENCED_RELATIONS, (doc_id,))}
    for statement in sql.DOC_ROWS.values():
        conn.execute(statement, (doc_id,))
    conn.execute(sql.DELETE_DOCUMENT, (doc_id,))
    return ents, rels


def collect_orphans(conn: sqlite3.Connection, ents: set[str], rels: set[str]) -> list[str]:
    """Drop the relations left without evidence and the entities left without mentions or aliases
    (with their relations).

    Returns:
        The removed entity ids, sorted.
    """
    for rid in rels:
        conn.execute(sql.DELETE_UNEVIDENCED_RELATION, (rid, rid))
    removed: list[str] = []
    for eid in ents:
        if conn.execute(sql.ENTITY_SUPPORTED, (eid, eid)).fetchone() is None:
            conn.execute(sql.DELETE_ENTITY, (eid,))
            conn.execute(sql.DELETE_ENTITY_RELATIONS, (eid, eid))
            removed.append(eid)
    return sorted(removed)


def rename(conn: sqlite3.Connection, ents: set[str]) -> None:
    """Name and type each (unpinned) entity from every document's support, independent of write order:
    a surface that normalises to its key first, then the most mentioned, the longest, the first in order;
    the type most mentioned (anything before ``Thing``)."""
    conn.executemany(sql.RENAME_ENTITY, [(eid,) for eid in sorted(ents)])
