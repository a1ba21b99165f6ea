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
from graph.spaces import load_spaces
from inference.identity import EmbedderIdentity

log = logging.getLogger("hopgraph.models")
EMBEDDER = "embedder"
PIPELINE = "spacy"


def built_with(store: KnowledgeStore) -> EmbedderIdentity | None:
    """The embedder of the store's active vector space (the one a migration switched to), else the one it
    records, or None (a new store, or one from before stamps)."""
    record = load_spaces(store.graph)
    if record is not None and record.active in record.spaces:
        space = record.spaces[record.active]
        return EmbedderIdentity(space.name, space.checksum, space.dimension)
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
            f"{built.name!r}, or migrate the store's vectors to the new model with 'hopgraph models "
            "migrate-embeddings NAME' (queries keep being answered meanwhile)."
        )


def check_pipeline(store: KnowledgeStore, name: str, version: str) -> str | None:
    """Record the spaCy pipeline that extracts into the store; when it changed, say so (and record the new one).

    Documents extracted before keep the old pipeline's entities and relations until they are extracted again
    (``hopgraph reextract``): the graph mixes both meanwhile, which is allowed but worth knowing.

    Returns:
        The warning (also logged), or None when the pipeline is the recorded one.

    Raises:
        StoreError: the store cannot be read or written.
    """
    now = {"name": name, "version": version}
    raw = store.graph.model_stamp(PIPELINE)
    before = json.loads(raw) if raw is not None else None
    if before == now:
        return None
    store.graph.save_model_stamp(PIPELINE, json.dumps(now, sort_keys=True))
    if before is None:
        return None
    message = (f"the graph was extracted with the spaCy pipeline {before['name']} {before['version']}; now "
               f"{name} {version} extracts: documents extracted before keep the old entities and relations until "
               "'hopgraph reextract' extracts every stored document again")
    log.warning("%s", message)
    return message
