"""SQL of the embedded graph store, kept as parameterised constants."""

from __future__ import annotations

INSERT_DOCUMENT = (
    "INSERT INTO documents(id, source, sha256, title, text, metadata, acl, ingested_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CHUNK = 'INSERT INTO chunks(id, doc_id, start, "end", text) VALUES (?, ?, ?, ?, ?)'
INSERT_ENTITY = (  # a pinned (curated) entity takes the writer's name and type; others only lose 'Thing'.
    # Curation applies to every document alike, so the latest writer's ``pinned`` holds; the first write after
    # a reverted edit unpins and takes the writer's name and type, as a first write would.
    "INSERT INTO entities(id, name, type, key, pinned) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
    " name = CASE WHEN excluded.pinned OR entities.pinned THEN excluded.name ELSE entities.name END,"
    " key = CASE WHEN excluded.pinned OR entities.pinned THEN excluded.key ELSE entities.key END,"
    " type = CASE WHEN excluded.pinned OR entities.pinned OR (entities.type = 'Thing' AND excluded.type != 'Thing')"
    " THEN excluded.type ELSE entities.type END,"
    " pinned = excluded.pinned"
)
RENAME_ENTITY = (  # name and type from every document's support, whatever order they were written in
    "UPDATE entities SET name = (SELECT a.surface FROM aliases a JOIN entities e ON e.id = a.entity_id"
    " WHERE a.entity_id = ?1 GROUP BY a.surface"
    " ORDER BY MAX(a.norm = e.key) DESC, SUM(a.count) DESC, LENGTH(a.surface) DESC, a.surface LIMIT 1),"
    " type = COALESCE((SELECT a.type FROM aliases a WHERE a.entity_id = ?1 AND a.type NOT IN ('', 'Thing')"
    " GROUP BY a.type ORDER BY SUM(a.count) DESC, a.type LIMIT 1), type)"
    " WHERE id = ?1 AND NOT pinned AND EXISTS (SELECT 1 FROM aliases WHERE entity_id = ?1)"
)
PUT_META = "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
CURATION_RULES = "SELECT key, body FROM curation"
PUT_CURATION_RULE = "INSERT INTO curation(key, body) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET body = excluded.body"
DELETE_CURATION_RULE = "DELETE FROM curation WHERE key=?"
ENTITY_DOCUMENTS = (
    "SELECT doc_id FROM mentions WHERE entity_id IN ({ids}) UNION SELECT doc_id FROM aliases"
    " WHERE entity_id IN ({ids}) AND doc_id != '' ORDER BY 1"
)
UPSERT_ALIAS = (
    "INSERT INTO aliases(entity_id, norm, surface, doc_id, count, type) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(entity_id, surface, doc_id) DO UPDATE SET count = count + excluded.count"
)
INSERT_MENTION = (
    'INSERT INTO mentions(chunk_id, doc_id, start, "end", surface, entity_id) VALUES (?, ?, ?, ?, ?, ?)'
)
INSERT_RELATION = "INSERT OR IGNORE INTO relations(id, head, type, tail) VALUES (?, ?, ?, ?)"
INSERT_EVIDENCE = (
    'INSERT INTO evidence(relation_id, chunk_id, doc_id, start, "end", confidence)'
    " VALUES (?, ?, ?, ?, ?, ?)"
)
BUMP = (
    "INSERT INTO meta(key, value) VALUES ('graph_generation', '1')"
    " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)
DOC_COLUMNS = "id, source, sha256, title, text, metadata, acl"
_DOC_MATCH = " FROM documents WHERE instr(lower(title), ?) > 0 OR instr(lower(source), ?) > 0"
SEARCH_DOCUMENTS = f"SELECT {DOC_COLUMNS}{_DOC_MATCH} ORDER BY id LIMIT ? OFFSET ?"
COUNT_DOCUMENT_MATCHES = f"SELECT COUNT(*){_DOC_MATCH}"

# -- removing a document's contribution (graph/embedded/writes.py) ------------------------------
DOCUMENT_EXISTS = "SELECT 1 FROM documents WHERE id=?"
DOC_MENTIONED_ENTITIES = "SELECT DISTINCT entity_id FROM mentions WHERE doc_id=?"
DOC_ALIASED_ENTITIES = "SELECT DISTINCT entity_id FROM aliases WHERE doc_id=?"
DOC_EVIDENCED_RELATIONS = "SELECT DISTINCT relation_id FROM evidence WHERE doc_id=?"
DOC_ROWS = {table: f"DELETE FROM {table} WHERE doc_id=?" for table in ("mentions", "aliases", "evidence", "chunks")}  # noqa: S608 - fixed names
DELETE_DOCUMENT = "DELETE FROM documents WHERE id=?"
DELETE_UNEVIDENCED_RELATION = (
    "DELETE FROM relations WHERE id=? AND NOT EXISTS (SELECT 1 FROM evidence WHERE relation_id=?)"
)
ENTITY_SUPPORTED = (
    "SELECT 1 FROM mentions WHERE entity_id=? UNION ALL SELECT 1 FROM aliases WHERE entity_id=? LIMIT 1"
)
DELETE_ENTITY = "DELETE FROM entities WHERE id=?"
DELETE_ENTITY_RELATIONS = "DELETE FROM relations WHERE head=? OR tail=?"

# -- the snapshot a restricted view is computed from (GraphStore.snapshot) -----------------------
SNAPSHOT: tuple[str, ...] = (
    "SELECT value FROM meta WHERE key = 'graph_generation'",
    "SELECT id, source, sha256, title, metadata, acl FROM documents ORDER BY id",
    'SELECT id, doc_id, start, "end" FROM chunks ORDER BY id',
    "SELECT id, name, type, key, pinned FROM entities ORDER BY id",
    "SELECT entity_id, norm, surface, doc_id, count, type FROM aliases ORDER BY entity_id, surface, doc_id",
    'SELECT chunk_id, doc_id, start, "end", surface, entity_id FROM mentions'
    " ORDER BY doc_id, start, chunk_id, entity_id",
    "SELECT id, head, type, tail FROM relations ORDER BY id",
    'SELECT relation_id, chunk_id, doc_id, start, "end", confidence FROM evidence'
    " ORDER BY relation_id, confidence DESC, chunk_id, doc_id, start",
)
