"""Files of a store directory that belong to the store itself (not copied as user files), its server tag, and
counts read straight from an embedded store file.

``store.json`` in a collection directory records the **server tag** of a collection restored onto the server
profile: the tag goes after the collection's name in its Neo4j label prefix and Weaviate collection prefix, so
a restore fills new labels and collections beside the old ones and the switch is the rename of the directory.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from core.errors import StoreError

STORE_FILE = "store.json"
OWN_FILES = frozenset({STORE_FILE, "hopgraph.db", "hopgraph.db-wal", "hopgraph.db-shm", "hopgraph.db-journal",
                       "ledger.db", "ledger.db-wal", "ledger.db-shm", "ledger.db-journal"})
_TAG = re.compile(r"^(R[0-9a-f]{8})?$")
_SPACE_TABLE = re.compile(r"^vchunks(_v[0-9a-f]{12})?$")


def server_tag(directory: Path) -> str:
    """The server tag recorded in ``directory`` ("" when none: the collection's original labels).

    Raises:
        StoreError: the file is unreadable or names an invalid tag.
    """
    path = directory / STORE_FILE
    try:
        tag = json.loads(path.read_text(encoding="utf-8")).get("server_tag", "")
    except FileNotFoundError:
        return ""
    except (OSError, ValueError, AttributeError) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise StoreError(f"{path}: invalid server tag {tag!r}")
    return tag


def write_server_tag(directory: Path, tag: str) -> None:
    """Record ``tag`` in ``directory`` (a directory not yet in use: a restore's staging directory)."""
    if not _TAG.fullmatch(tag):
        raise ValueError(f"invalid server tag {tag!r}")
    (directory / STORE_FILE).write_text(json.dumps({"server_tag": tag}) + "\n", encoding="utf-8")


def embedded_counts(db: Path) -> dict[str, object]:
    """Documents, chunks, entities, relations, mentions and, per vector space, chunk and entity vectors of an
    embedded store file (opened read-only).

    Raises:
        StoreError: the file cannot be read as a hopgraph store.
    """
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            counts: dict[str, object] = {
                table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
                for table in ("documents", "chunks", "entities", "relations", "mentions")
            }
            vectors: dict[str, dict[str, int]] = {}
            tables = [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in sorted(t for t in tables if _SPACE_TABLE.fullmatch(t)):
                space = table.removeprefix("vchunks").removeprefix("_")
                entities = "ventities_" + space if space else "ventities"
                vectors[space or "original"] = {
                    "chunks": int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]),  # noqa: S608
                    "entities": int(conn.execute(f"SELECT count(*) FROM {entities}").fetchone()[0]),  # noqa: S608
                }
            counts["vectors"] = vectors
            return counts
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{db} cannot be read as a hopgraph store: {exc}") from exc
