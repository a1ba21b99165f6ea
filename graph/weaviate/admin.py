"""Dropping the Weaviate collections of one hopgraph store (a deleted collection, a benchmark run)."""

from __future__ import annotations

import weaviate
from weaviate.exceptions import WeaviateBaseError

from core.errors import StoreError


def drop_store_collections(client: weaviate.WeaviateClient, prefix: str) -> None:
    """Drop ``PREFIX``Chunk and ``PREFIX``Entity (missing ones are ignored).

    Raises:
        StoreError: Weaviate refused.
    """
    try:
        client.collections.delete([f"{prefix}Chunk", f"{prefix}Entity"])
    except WeaviateBaseError as exc:
        raise StoreError(f"cannot drop Weaviate collections {prefix}*: {exc}") from exc
