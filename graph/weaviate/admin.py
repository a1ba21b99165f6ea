"""Dropping the Weaviate collections of one hopgraph store (a deleted collection, a benchmark run)."""

from __future__ import annotations

import re

import weaviate
from weaviate.exceptions import WeaviateBaseError

from core.errors import StoreError


def drop_store_collections(client: weaviate.WeaviateClient, prefix: str) -> None:
    """Drop ``PREFIX``Chunk and ``PREFIX``Entity and those of every vector space a migration added
    (``PREFIX`` V<12 hex> ``Chunk``; missing ones are ignored).

    Raises:
        StoreError: Weaviate refused.
    """
    own = re.compile(rf"^{re.escape(prefix)}(?:V[0-9a-f]{{12}})?(?:Chunk|Entity)$")
    try:
        names = [n for n in client.collections.list_all(simple=True) if own.match(n)]
        client.collections.delete(sorted({*names, f"{prefix}Chunk", f"{prefix}Entity"}))
    except WeaviateBaseError as exc:
        raise StoreError(f"cannot drop Weaviate collections {prefix}*: {exc}") from exc
