"""The Weaviate collections of one hopgraph store: names, properties, vector indexes, replication."""

from __future__ import annotations

from typing import Any

import weaviate
from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    ReplicationDeletionStrategy,
    Tokenization,
    VectorDistances,
)
from weaviate.exceptions import UnexpectedStatusCodeError


def _id_property(name: str) -> Property:
    return Property(
        name=name, data_type=DataType.TEXT, tokenization=Tokenization.FIELD,
        index_filterable=True, index_searchable=False,
    )


def _vector_config(exact: bool) -> Any:
    """HNSW for chunks; a flat (exact) index for entity names, whose nearest match links a question's
    phrase, so that linking is the same as on the embedded store."""
    index = (Configure.VectorIndex.flat(distance_metric=VectorDistances.COSINE) if exact
             else Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE))
    return Configure.Vectors.self_provided(
        vector_index_config=index
    )


def space_collections(prefix: str, space: str) -> tuple[str, str]:
    """The chunk and entity collection names of ``space`` under ``prefix``."""
    infix = space[:1].upper() + space[1:]
    return f"{prefix}{infix}Chunk", f"{prefix}{infix}Entity"


def ensure_collections(client: weaviate.WeaviateClient, chunks: str, entities: str, factor: int = 1) -> None:
    """Create the chunk and entity collections if missing, with ``factor`` replicas of each object.

    Raises:
        WeaviateBaseError: Weaviate refused.
    """
    _ensure(client, chunks, [_id_property("chunk_id"), _id_property("doc_id"),
                             Property(name="text", data_type=DataType.TEXT)], factor)
    _ensure(client, entities, [_id_property("entity_id")], factor, exact=True)


def _ensure(client: weaviate.WeaviateClient, name: str, properties: list[Property], factor: int,
            exact: bool = False) -> None:
    if client.collections.exists(name):
        return
    # time-based resolution: where replicas disagree on an object deleted and written again (a document
    # re-ingested), the later operation wins
    replication = (Configure.replication(factor=factor,
                                         deletion_strategy=ReplicationDeletionStrategy.TIME_BASED_RESOLUTION)
                   if factor > 1 else None)
    try:
        # one shard (replicated): BM25's statistics are per shard, so keyword scores and ranks stay those of a
        # one-node store (Weaviate would otherwise make one shard per node of the cluster)
        client.collections.create(name, properties=properties, vector_config=_vector_config(exact),
                                  replication_config=replication, sharding_config=Configure.sharding(desired_count=1))
    except UnexpectedStatusCodeError:
        if not client.collections.exists(name):  # lost a race with another writer: fine
            raise
