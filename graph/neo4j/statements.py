"""Label prefixes of the Neo4j adapter: every statement of :mod:`graph.neo4j.queries` for one prefix.

Several stores share one database through a label prefix: the prefix goes before each of
hopgraph's labels, relationship types and schema names; nothing else is ever formatted
into a statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from graph.neo4j import queries

LABELS: tuple[str, ...] = (
    "Document", "Chunk", "Entity", "Alias", "Evidence", "HopgraphMeta", "HopgraphCuration", "HopgraphIntent",
)
RELATIONSHIP_TYPES: tuple[str, ...] = ("MENTIONS", "REL")
PREFIX_PATTERN = r"^([A-Za-z][A-Za-z0-9_]*)?$"
_PREFIX = re.compile(PREFIX_PATTERN)
_NAMES = "|".join((*LABELS, *RELATIONSHIP_TYPES))
_NAMED = re.compile(rf"(?<=:)(?:{_NAMES})\b|\bhopgraph_(?=[a-z])")


def namespaced(statement: str, prefix: str) -> str:
    """``statement`` with ``prefix`` before each of hopgraph's labels, relationship types and schema names.

    Raises:
        ValueError: ``prefix`` is not letters, digits and '_' starting with a letter (or empty).
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"invalid Neo4j label prefix {prefix!r}")
    if not prefix:
        return statement
    return _NAMED.sub(lambda m: "hopgraph_" + prefix if m.group(0) == "hopgraph_" else prefix + m.group(0),
                      statement)


@dataclass(frozen=True, slots=True)
class Statements:
    """Every statement of :mod:`graph.neo4j.queries` for one label prefix, as fields named like the constants.

    Build it with :meth:`for_prefix`; a test checks that every statement constant has its field.
    """

    prefix: str
    schema: tuple[str, ...]
    labels: tuple[str, ...]
    AWAIT_INDEXES: str
    TOUCHED_ENTITIES: str
    TOUCHED_RELATIONS: str
    REMOVE_CONTRIBUTION: str
    DOCUMENT_EXISTS: str
    INSERT_DOCUMENTS: str
    INSERT_CHUNKS: str
    MERGE_ENTITIES: str
    INSERT_ALIASES: str
    INSERT_MENTIONS: str
    MERGE_RELATIONS: str
    INSERT_EVIDENCE: str
    REFRESH_RELATIONS: str
    DROP_UNSUPPORTED_RELATIONS: str
    DROP_ORPHAN_ENTITIES: str
    RENAME_ENTITIES: str
    BUMP_VERSION: str
    DOCUMENT_HASHES: str
    GET_DOCUMENT: str
    FIND_DOCUMENTS: str
    LIST_DOCUMENTS: str
    SEARCH_DOCUMENTS: str
    COUNT_DOCUMENT_MATCHES: str
    GET_CHUNKS: str
    BEST_EVIDENCE: str
    ENTITY_NAMES: str
    DOCUMENT_TITLES: str
    GET_ENTITY: str
    ENTITY_DOCUMENTS: str
    CURATION_RULES: str
    PUT_CURATION_RULES: str
    DELETE_CURATION_RULES: str
    ENTITY_ALIASES: str
    ENTITY_MENTION_COUNTS: str
    ENTITY_FIRST_MENTION: str
    EXISTING_ENTITIES: str
    EXACT_ENTITIES: str
    PREFIX_ENTITIES: str
    NEIGHBOURS: str
    RELATIONS_BETWEEN: str
    MENTIONS_OF: str
    CHUNK_ENTITIES: str
    ENTITY_KEYS: str
    MENTION_PAIRS: str
    RELATION_PAIRS: str
    MODEL_STAMP: str
    PUT_MODEL_STAMP: str
    SNAPSHOT_VERSION: str
    SNAPSHOT_DOCUMENTS: str
    SNAPSHOT_CHUNKS: str
    SNAPSHOT_ENTITIES: str
    SNAPSHOT_ALIASES: str
    SNAPSHOT_MENTIONS: str
    SNAPSHOT_RELATIONS: str
    SNAPSHOT_EVIDENCE: str
    VERSION: str
    ENTITY_TYPE_COUNTS: str
    RELATION_TYPE_COUNTS: str
    STATS: str
    INTENT_RECORD: str
    INTENT_PENDING: str

    @classmethod
    def for_prefix(cls, prefix: str = "") -> Statements:
        """Every statement with ``prefix`` put in (see :func:`namespaced`).

        Raises:
            ValueError: an invalid prefix.
        """
        statements = {f.name: namespaced(getattr(queries, f.name), prefix) for f in fields(cls) if f.name.isupper()}
        return cls(prefix=prefix, schema=tuple(namespaced(statement, prefix) for statement in queries.SCHEMA),
                   labels=tuple(prefix + label for label in LABELS), **statements)
