"""Cypher of the Neo4j adapter: parameterised statements only, never formatted input.

Model (labels and properties)::

    (:Document {id, source, sha256, title, text, metadata (JSON), acl, ingested_at})
    (:Chunk {id, doc_id, start, end, text})
    (:Entity {id, name, type, key, pinned})                 pinned: a curator fixed name and type
    (:Alias {entity_id, norm, surface, doc_id, count, type})  one per (entity, surface, document); type: the
                                                            entity's type in that document
    (:Chunk)-[:MENTIONS {doc_id, start, end, surface}]->(:Entity)
    (:Entity)-[:REL {id, type, confidence, evidence}]->(:Entity)
    (:Evidence {relation_id, chunk_id, doc_id, start, end, confidence})
    (:HopgraphMeta {key: 'graph', epoch, generation})      the version token
    (:HopgraphMeta {key: 'model:<kind>', body})             the model that built the store (JSON)
    (:HopgraphCuration {key, body})                         curation records (see graph/curation.py)
    (:HopgraphIntent {key, op, doc_id, entities, owner, host, pid, started_at})   see graph/ledger.py

``REL.confidence`` (best evidence) and ``REL.evidence`` (evidence count) are
recomputed for every relation a write or delete touches, so that reads need no
join; a relation is only *visible* to reads while it has evidence.

Several stores share one database through a label prefix (``neo4j_label_prefix``; the
API gives each collection its own): :class:`graph.neo4j.statements.Statements` holds every statement below with
the prefix put before each label, relationship type and schema name
(``Cwiki_Entity``, ``Cwiki_REL``, ``hopgraph_Cwiki_entity_id``). The prefix is validated
by the settings; nothing else is ever formatted into a statement.
"""

from __future__ import annotations

SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT hopgraph_document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT hopgraph_chunk_id IF NOT EXISTS FOR (c:Chunk) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT hopgraph_entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT hopgraph_rel_id IF NOT EXISTS FOR ()-[r:REL]-() REQUIRE r.id IS UNIQUE",
    "CREATE CONSTRAINT hopgraph_meta_key IF NOT EXISTS FOR (m:HopgraphMeta) REQUIRE m.key IS UNIQUE",
    "CREATE CONSTRAINT hopgraph_curation_key IF NOT EXISTS FOR (c:HopgraphCuration) REQUIRE c.key IS UNIQUE",
    "CREATE CONSTRAINT hopgraph_intent_key IF NOT EXISTS FOR (i:HopgraphIntent) REQUIRE i.key IS UNIQUE",
    "CREATE INDEX hopgraph_document_source IF NOT EXISTS FOR (d:Document) ON (d.source)",
    "CREATE INDEX hopgraph_chunk_doc IF NOT EXISTS FOR (c:Chunk) ON (c.doc_id)",
    "CREATE INDEX hopgraph_entity_key IF NOT EXISTS FOR (e:Entity) ON (e.key)",
    "CREATE INDEX hopgraph_alias_entity IF NOT EXISTS FOR (a:Alias) ON (a.entity_id)",
    "CREATE INDEX hopgraph_alias_norm IF NOT EXISTS FOR (a:Alias) ON (a.norm)",
    "CREATE INDEX hopgraph_alias_doc IF NOT EXISTS FOR (a:Alias) ON (a.doc_id)",
    "CREATE INDEX hopgraph_evidence_relation IF NOT EXISTS FOR (v:Evidence) ON (v.relation_id)",
    "CREATE INDEX hopgraph_evidence_doc IF NOT EXISTS FOR (v:Evidence) ON (v.doc_id)",
    "CREATE INDEX hopgraph_mentions_doc IF NOT EXISTS FOR ()-[m:MENTIONS]-() ON (m.doc_id)",
    # Whole-string prefix search over normalised aliases: the keyword analyzer keeps
    # each norm as one token, so `new\ york*` matches exactly the norms starting with it.
    "CREATE FULLTEXT INDEX hopgraph_alias_prefix IF NOT EXISTS FOR (a:Alias) ON EACH [a.norm]"
    " OPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword'}}",
)
AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"

# -- write: remove a batch's previous contribution -----------------------------------

TOUCHED_ENTITIES = """
UNWIND $doc_ids AS d
CALL (d) {
  MATCH (:Chunk)-[m:MENTIONS {doc_id: d}]->(e:Entity) RETURN e.id AS eid
  UNION
  MATCH (a:Alias {doc_id: d}) RETURN a.entity_id AS eid
}
RETURN collect(DISTINCT eid) AS ids
"""
TOUCHED_RELATIONS = """
UNWIND $doc_ids AS d
MATCH (v:Evidence {doc_id: d})
RETURN collect(DISTINCT v.relation_id) AS ids
"""
REMOVE_CONTRIBUTION = """
UNWIND $doc_ids AS d
CALL (d) { MATCH (:Chunk)-[m:MENTIONS {doc_id: d}]->(:Entity) DELETE m }
CALL (d) { MATCH (a:Alias {doc_id: d}) DELETE a }
CALL (d) { MATCH (v:Evidence {doc_id: d}) DELETE v }
CALL (d) { MATCH (c:Chunk {doc_id: d}) DETACH DELETE c }
CALL (d) { MATCH (doc:Document {id: d}) DELETE doc }
"""
DOCUMENT_EXISTS = "MATCH (d:Document {id: $doc_id}) RETURN count(d) AS n"

# -- write: insert ------------------------------------------------------------------

INSERT_DOCUMENTS = """
UNWIND $rows AS r
CREATE (:Document {id: r.id, source: r.source, sha256: r.sha256, title: r.title, text: r.text,
                   metadata: r.metadata, acl: r.acl, ingested_at: r.ingested_at})
"""
INSERT_CHUNKS = """
UNWIND $rows AS r
CREATE (:Chunk {id: r.id, doc_id: r.doc_id, start: r.start, end: r.end, text: r.text})
"""
MERGE_ENTITIES = """
UNWIND $rows AS r
MERGE (e:Entity {id: r.id})
  ON CREATE SET e.name = r.name, e.type = r.type, e.key = r.key, e.pinned = r.pinned
  ON MATCH SET e.type = CASE WHEN r.pinned OR coalesce(e.pinned, false) OR (e.type = 'Thing' AND r.type <> 'Thing')
                            THEN r.type ELSE e.type END,
               e.name = CASE WHEN r.pinned OR coalesce(e.pinned, false) THEN r.name ELSE e.name END,
               e.key = CASE WHEN r.pinned OR coalesce(e.pinned, false) THEN r.key ELSE e.key END,
               e.pinned = r.pinned
"""
INSERT_ALIASES = """
UNWIND $rows AS r
CREATE (:Alias {entity_id: r.entity_id, norm: r.norm, surface: r.surface, doc_id: r.doc_id, count: r.count,
               type: r.type})
"""
INSERT_MENTIONS = """
UNWIND $rows AS r
MATCH (c:Chunk {id: r.chunk_id})
MATCH (e:Entity {id: r.entity_id})
CREATE (c)-[:MENTIONS {doc_id: r.doc_id, start: r.start, end: r.end, surface: r.surface}]->(e)
"""
MERGE_RELATIONS = """
UNWIND $rows AS r
MATCH (h:Entity {id: r.head})
MATCH (t:Entity {id: r.tail})
MERGE (h)-[x:REL {id: r.id}]->(t)
  ON CREATE SET x.type = r.type, x.confidence = 0.0, x.evidence = 0
"""
INSERT_EVIDENCE = """
UNWIND $rows AS r
CREATE (:Evidence {relation_id: r.relation_id, chunk_id: r.chunk_id, doc_id: r.doc_id,
                   start: r.start, end: r.end, confidence: r.confidence})
"""

# -- write: recompute and collect orphans ---------------------------------------------

REFRESH_RELATIONS = """
UNWIND $ids AS rid
MATCH ()-[r:REL {id: rid}]->()
OPTIONAL MATCH (v:Evidence {relation_id: rid})
WITH r, count(v) AS n, max(v.confidence) AS best
SET r.evidence = n, r.confidence = coalesce(best, 0.0)
"""
DROP_UNSUPPORTED_RELATIONS = """
UNWIND $ids AS rid
MATCH ()-[r:REL {id: rid}]->()
WHERE r.evidence = 0
DELETE r
"""
DROP_ORPHAN_ENTITIES = """
UNWIND $ids AS eid
MATCH (e:Entity {id: eid})
WHERE NOT EXISTS { MATCH (:Chunk)-[:MENTIONS]->(e) } AND NOT EXISTS { MATCH (a:Alias {entity_id: eid}) }
CALL (e) { MATCH (e)-[r:REL]-() WITH DISTINCT r MATCH (v:Evidence {relation_id: r.id}) DELETE v }
DETACH DELETE e
RETURN eid
"""
RENAME_ENTITIES = """
UNWIND $ids AS eid
MATCH (e:Entity {id: eid})
WHERE NOT coalesce(e.pinned, false)
CALL (e, eid) {
  MATCH (a:Alias {entity_id: eid})
  WITH a.surface AS surface, sum(a.count) AS n, max(CASE WHEN a.norm = e.key THEN 1 ELSE 0 END) AS full
  RETURN surface ORDER BY full DESC, n DESC, size(surface) DESC, surface LIMIT 1
}
CALL (e, eid) {
  OPTIONAL MATCH (a:Alias {entity_id: eid}) WHERE NOT coalesce(a.type, '') IN ['', 'Thing']
  WITH a.type AS type, sum(a.count) AS n
  RETURN type ORDER BY n DESC, type LIMIT 1
}
SET e.name = surface, e.type = coalesce(type, e.type)
"""
BUMP_VERSION = """
MERGE (m:HopgraphMeta {key: 'graph'})
  ON CREATE SET m.epoch = randomUUID(), m.generation = 1
  ON MATCH SET m.generation = m.generation + 1
"""

# -- reads --------------------------------------------------------------------------

_DOC_FIELDS = "d.id AS id, d.source AS source, d.sha256 AS sha256, d.title AS title, d.text AS text," \
    " d.metadata AS metadata, d.acl AS acl"
DOCUMENT_HASHES = "UNWIND $ids AS i MATCH (d:Document {id: i}) RETURN d.id AS id, d.sha256 AS sha256"
GET_DOCUMENT = f"MATCH (d:Document {{id: $id}}) RETURN {_DOC_FIELDS}"
FIND_DOCUMENTS = f"""
CALL () {{ MATCH (d:Document {{id: $key}}) RETURN d UNION MATCH (d:Document {{source: $key}}) RETURN d }}
RETURN {_DOC_FIELDS} ORDER BY id
"""
LIST_DOCUMENTS = f"MATCH (d:Document) RETURN {_DOC_FIELDS} ORDER BY d.id SKIP $offset LIMIT $limit"
_DOC_MATCH = "MATCH (d:Document) WHERE toLower(d.title) CONTAINS $text OR toLower(d.source) CONTAINS $text"
SEARCH_DOCUMENTS = f"{_DOC_MATCH} RETURN {_DOC_FIELDS} ORDER BY d.id SKIP $offset LIMIT $limit"
COUNT_DOCUMENT_MATCHES = f"{_DOC_MATCH} RETURN count(d) AS n"
GET_CHUNKS = """
UNWIND $ids AS i MATCH (c:Chunk {id: i})
RETURN c.id AS id, c.doc_id AS doc_id, c.start AS start, c.end AS end, c.text AS text
"""
BEST_EVIDENCE = """
UNWIND $ids AS rid
MATCH (v:Evidence {relation_id: rid})
WITH rid, v ORDER BY v.confidence DESC, v.chunk_id, v.doc_id, v.start
WITH rid, head(collect(v)) AS v
RETURN rid AS relation_id, v.chunk_id AS chunk_id, v.doc_id AS doc_id, v.start AS start, v.end AS end,
       v.confidence AS confidence
"""
ENTITY_NAMES = "UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN e.id AS id, e.name AS name"
DOCUMENT_TITLES = "UNWIND $ids AS id MATCH (d:Document {id: id}) RETURN d.id AS id, d.title AS title"
GET_ENTITY = (
    "MATCH (e:Entity {id: $id}) RETURN e.id AS id, e.name AS name, e.type AS type,"
    " coalesce(e.pinned, false) AS pinned"
)
ENTITY_DOCUMENTS = """
UNWIND $ids AS eid
CALL (eid) {
  MATCH (:Chunk)-[m:MENTIONS]->(:Entity {id: eid}) RETURN m.doc_id AS doc_id
  UNION
  MATCH (a:Alias {entity_id: eid}) RETURN a.doc_id AS doc_id
}
WITH DISTINCT doc_id RETURN doc_id ORDER BY doc_id
"""
CURATION_RULES = "MATCH (c:HopgraphCuration) RETURN c.key AS key, c.body AS body"
PUT_CURATION_RULES = "UNWIND $rows AS r MERGE (c:HopgraphCuration {key: r.key}) SET c.body = r.body"
DELETE_CURATION_RULES = "UNWIND $keys AS k MATCH (c:HopgraphCuration {key: k}) DELETE c"
ENTITY_ALIASES = """
MATCH (a:Alias {entity_id: $id})
WITH a.surface AS surface, sum(a.count) AS n
RETURN surface ORDER BY n DESC, surface
"""
ENTITY_MENTION_COUNTS = """
MATCH (c:Chunk)-[m:MENTIONS]->(:Entity {id: $id})
RETURN count(DISTINCT c.id) AS chunks, count(DISTINCT m.doc_id) AS docs
"""
ENTITY_FIRST_MENTION = """
MATCH (c:Chunk)-[m:MENTIONS]->(:Entity {id: $id})
RETURN c.text AS text, m.start - c.start AS start, m.end - c.start AS end
ORDER BY m.doc_id, m.start LIMIT 1
"""
EXISTING_ENTITIES = "UNWIND $ids AS i MATCH (e:Entity {id: i}) RETURN e.id AS id"
EXACT_ENTITIES = """
CALL () {
  MATCH (a:Alias {norm: $key}) RETURN a.entity_id AS id
  UNION
  MATCH (e:Entity {key: $key}) RETURN e.id AS id
}
RETURN id
"""
PREFIX_ENTITIES = """
CALL db.index.fulltext.queryNodes('hopgraph_alias_prefix', $query) YIELD node
WITH node.entity_id AS id, min(size(node.norm)) AS shortest
RETURN id, shortest ORDER BY shortest, id LIMIT $limit
"""
_RELATION_ORDER = "ORDER BY r.confidence DESC, r.evidence DESC, r.id LIMIT $limit"
_RELATION_FIELDS = """
RETURN r.id AS id, h.id AS head, r.type AS type, t.id AS tail, r.confidence AS confidence,
       h.name AS head_name, h.type AS head_type, t.name AS tail_name, t.type AS tail_type,
       COLLECT {
         MATCH (v:Evidence {relation_id: r.id})
         RETURN v {.chunk_id, .doc_id, .start, .end, .confidence}
         ORDER BY v.confidence DESC, v.chunk_id, v.doc_id, v.start
       } AS evidence
ORDER BY confidence DESC, r.evidence DESC, id
"""
NEIGHBOURS = f"""
CALL () {{
  MATCH (h:Entity {{id: $id}})-[r:REL]->(t:Entity) RETURN h, r, t
  UNION
  MATCH (h:Entity)-[r:REL]->(t:Entity {{id: $id}}) RETURN h, r, t
}}
WITH h, r, t WHERE r.evidence > 0
{_RELATION_ORDER}
{_RELATION_FIELDS}
"""
RELATIONS_BETWEEN = f"""
UNWIND $ids AS i
MATCH (h:Entity {{id: i}})-[r:REL]->(t:Entity)
WHERE r.evidence > 0 AND t.id IN $ids
WITH DISTINCT h, r, t
{_RELATION_ORDER}
{_RELATION_FIELDS}
"""
MENTIONS_OF = """
MATCH (c:Chunk)-[m:MENTIONS]->(e:Entity {id: $id})
RETURN c.id AS chunk_id, m.start AS start, m.end AS end, m.surface AS surface, e.id AS entity_id
ORDER BY m.doc_id, m.start LIMIT $limit
"""
CHUNK_ENTITIES = """
UNWIND $ids AS i
MATCH (c:Chunk {id: i})-[:MENTIONS]->(e:Entity)
RETURN DISTINCT c.id AS chunk_id, e.id AS entity_id
"""
ENTITY_KEYS = "MATCH (a:Alias) WHERE a.norm <> '' RETURN DISTINCT a.norm AS norm, a.entity_id AS entity_id"
MENTION_PAIRS = """
MATCH (c:Chunk)-[m:MENTIONS]->(e:Entity)
RETURN DISTINCT c.id AS chunk_id, m.doc_id AS doc_id, e.id AS entity_id
ORDER BY chunk_id, entity_id
"""
RELATION_PAIRS = """
MATCH (h:Entity)-[r:REL]->(t:Entity) WHERE r.evidence > 0
RETURN r.id AS id, h.id AS head, t.id AS tail, r.type AS type, r.confidence AS confidence
ORDER BY id
"""
MODEL_STAMP = "MATCH (m:HopgraphMeta {key: $key}) RETURN m.body AS body"
PUT_MODEL_STAMP = "MERGE (m:HopgraphMeta {key: $key}) SET m.body = $body"

# -- the snapshot a restricted view is computed from (GraphStore.snapshot), one read transaction ----
SNAPSHOT_VERSION = "OPTIONAL MATCH (m:HopgraphMeta {key: 'graph'}) RETURN m.epoch + ':' + toString(m.generation) AS v"
SNAPSHOT_DOCUMENTS = """
MATCH (d:Document) RETURN d.id AS id, d.source AS source, d.sha256 AS sha256, d.title AS title,
                          d.metadata AS metadata, d.acl AS acl ORDER BY id
"""
SNAPSHOT_CHUNKS = "MATCH (c:Chunk) RETURN c.id AS id, c.doc_id AS doc_id, c.start AS start, c.end AS end ORDER BY id"
SNAPSHOT_ENTITIES = """
MATCH (e:Entity) RETURN e.id AS id, e.name AS name, e.type AS type, e.key AS key,
                        coalesce(e.pinned, false) AS pinned ORDER BY id
"""
SNAPSHOT_ALIASES = """
MATCH (a:Alias) RETURN a.entity_id AS entity_id, a.norm AS norm, a.surface AS surface, a.doc_id AS doc_id,
                       a.count AS count, coalesce(a.type, '') AS type
"""
SNAPSHOT_MENTIONS = """
MATCH (c:Chunk)-[m:MENTIONS]->(e:Entity)
RETURN c.id AS chunk_id, m.doc_id AS doc_id, m.start AS start, m.end AS end, m.surface AS surface, e.id AS entity_id
"""
SNAPSHOT_RELATIONS = """
MATCH (h:Entity)-[r:REL]->(t:Entity) RETURN r.id AS id, h.id AS head, r.type AS type, t.id AS tail
"""
SNAPSHOT_EVIDENCE = """
MATCH (v:Evidence) RETURN v.relation_id AS relation_id, v.chunk_id AS chunk_id, v.doc_id AS doc_id,
                          v.start AS start, v.end AS end, v.confidence AS confidence
"""
VERSION = "MATCH (m:HopgraphMeta {key: 'graph'}) RETURN m.epoch + ':' + toString(m.generation) AS token"
ENTITY_TYPE_COUNTS = """
MATCH (e:Entity) RETURN e.type AS type, count(e) AS n
"""

RELATION_TYPE_COUNTS = """
MATCH (h:Entity)-[r:REL]->(t:Entity) WHERE r.evidence > 0
RETURN r.type AS type, h.type AS head, t.type AS tail, count(r) AS n
"""

STATS = """
CALL () { MATCH (d:Document) RETURN count(d) AS documents }
CALL () { MATCH (c:Chunk) RETURN count(c) AS chunks }
CALL () { MATCH (e:Entity) RETURN count(e) AS entities }
CALL () { MATCH ()-[r:REL]->() RETURN count(r) AS relations }
CALL () { MATCH ()-[m:MENTIONS]->() RETURN count(m) AS mentions }
RETURN documents, chunks, entities, relations, mentions
"""

# -- ledger (graph/ledger.py) -------------------------------------------------------------

INTENT_RECORD = """
CALL () { UNWIND $remove AS k MATCH (i:HopgraphIntent {key: k}) DELETE i }
CALL () {
  UNWIND $add AS r
  MERGE (i:HopgraphIntent {key: r.key})
  SET i.op = r.op, i.doc_id = r.doc_id, i.entities = r.entities, i.owner = r.owner, i.host = r.host,
      i.pid = r.pid, i.started_at = r.started_at
}
"""
INTENT_PENDING = """
MATCH (i:HopgraphIntent)
RETURN i.key AS key, i.op AS op, i.doc_id AS doc_id, i.entities AS entities, i.owner AS owner, i.host AS host,
       i.pid AS pid, i.started_at AS started_at
ORDER BY i.started_at, i.key
"""
