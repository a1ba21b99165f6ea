"""A store is built with one embedding model: it records which, and refuses another.

Vectors of two models live in different spaces: comparing a question embedded by one with
passages embedded by another returns confident garbage. The first reader or writer records
the embedder (name, weights checksum, dimension) in the store; every later one must match.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from core.errors import ConfigError
from graph.knowledge import KnowledgeStore
from inference.identity import EmbedderIdentity

log = logging.getLogger("hopgraph.models")
EMBEDDER = "embedder"


def built_with(store: KnowledgeStore) -> EmbedderIdentity | None:
    """The embedder the store records, or None (a new store, or one from before stamps)."""
    raw = store.graph.model_stamp(EMBEDDER)
    if raw is None:
        return None
    return EmbedderIdentity(**json.loads(raw))


def check_embedder(store: KnowledgeStore, identity: EmbedderIdentity) -> None:
    """Record ``identity`` as the store's embedder if it has none; refuse a different one.

    Raises:
        ConfigError: the store's vectors were built by another model (the message says which, and what to do).
        StoreError: the store cannot be read or written.
    """
    built = built_with(store)
    if built is None:
        if store.graph.stats().chunks:
            log.warning("store holds vectors but no record of their model; recording %s", identity.describe())
        store.graph.save_model_stamp(EMBEDDER, json.dumps(asdict(identity), sort_keys=True))
        return
    if not built.same_space(identity):
        raise ConfigError(
            f"this store's vectors were built with the embedding model {built.describe()}, but the settings name "
            f"{identity.describe()}: vectors of two models cannot be compared. Set embedding_model back to "
            f"{built.name!r}, or ingest the documents again into a new collection (data directory) with the new "
            "model."
        )
