"""Collections: named, isolated stores, each with a directory ``DATA_DIR/collections/<name>``.

A collection directory is an ordinary hopgraph data directory (the CLI can use
it with ``--data-dir``) plus ``files/``, where uploaded files are kept so that
an interrupted ingest job can be re-run after a restart.

With the server profile a collection's vectors are the Weaviate collections
``PREFIX + C<name>`` + ``Chunk``/``Entity``, and its graph lives in the configured Neo4j
database under its own labels, relationship types and schema names
(``neo4j_label_prefix + C<name>_`` + ``Entity`` etc.), so that collections share one
database (Neo4j Community has only one) without ever meeting.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

from core.errors import ConflictError, InputError, NotFoundError, StoreError
from core.settings import Settings
from extraction.chunking import Chunker
from extraction.nlp import NlpRunner, pipeline_identity
from extraction.pipeline import IngestPipeline, ProposalSink
from extraction.readers import JsonFields
from graph.knowledge import KnowledgeStore
from graph.store import drop_server_data
from service import model_stamps
from service.store_files import server_tag
from service.vector_spaces import Embedders, Mirrors

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_NAME = re.compile(NAME_PATTERN)


def validate_name(name: str) -> str:
    """The collection name, if valid.

    Raises:
        InputError: not 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit.
    """
    if not _NAME.fullmatch(name):
        raise InputError(f"invalid collection name {name!r}: use 1-63 of a-z 0-9 _ - (first a letter or digit)")
    return name


def _spelled(name: str) -> str:
    """``C`` and the name with '_' and '-' spelled U and D (names are lower case, so they stay distinct)."""
    return "C" + validate_name(name).replace("_", "U").replace("-", "D")


def weaviate_prefix(settings: Settings, name: str, tag: str = "") -> str:
    """The Weaviate collection prefix of collection ``name`` (``tag``: its server tag, see
    :mod:`service.store_files`)."""
    return settings.weaviate_collection_prefix + _spelled(name) + tag


def neo4j_label_prefix(settings: Settings, name: str, tag: str = "") -> str:
    """The Neo4j label prefix of collection ``name`` (``tag``: its server tag)."""
    return settings.neo4j_label_prefix + _spelled(name) + tag + "_"


def root(settings: Settings) -> Path:
    """The directory that holds every collection."""
    return settings.data_dir / "collections"


def directory(settings: Settings, name: str) -> Path:
    """The directory of collection ``name`` (which may not exist)."""
    return root(settings) / validate_name(name)


def files_dir(settings: Settings, name: str) -> Path:
    """Where the uploaded files of collection ``name`` are kept."""
    return directory(settings, name) / "files"


def exists(settings: Settings, name: str) -> bool:
    """True when collection ``name`` exists."""
    return _NAME.fullmatch(name) is not None and directory(settings, name).is_dir()


def require(settings: Settings, name: str) -> Path:
    """The directory of an existing collection.

    Raises:
        NotFoundError: no such collection (or an invalid name).
    """
    if not exists(settings, name):
        raise NotFoundError(f"no collection {name!r}")
    return directory(settings, name)


def names(settings: Settings) -> list[str]:
    """Existing collections, sorted."""
    base = root(settings)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _NAME.fullmatch(p.name))


def create(settings: Settings, name: str) -> Path:
    """Create an empty collection.

    Raises:
        InputError: invalid name.
        ConflictError: it exists already.
    """
    path = directory(settings, name)
    try:
        path.mkdir(parents=True, exist_ok=False)
        (path / "files").mkdir()
    except FileExistsError as exc:
        raise ConflictError(f"collection {name!r} exists already") from exc
    except OSError as exc:
        raise StoreError(f"cannot create collection {name!r}: {exc}") from exc
    return path


def remove(settings: Settings, name: str) -> None:
    """Delete a collection's directory with everything in it (the caller closes its store first).

    The directory is first renamed away (atomic: the collection is gone at once), then removed.

    Raises:
        NotFoundError: no such collection.
        StoreError: the directory cannot be moved, or a server store refused to drop the collection's data.
    """
    path = require(settings, name)
    drop_server_data(collection_settings(settings, name))
    trash = root(settings) / f".deleted-{name}-{secrets.token_hex(4)}"
    try:
        path.rename(trash)
    except OSError as exc:
        raise StoreError(f"cannot delete collection {name!r}: {exc}") from exc
    shutil.rmtree(trash, ignore_errors=True)  # a straggling writer may leave a file; names() ignores dot-dirs


def collection_settings(settings: Settings, name: str, at: Path | None = None) -> Settings:
    """The settings of one collection: its own data directory (and Weaviate collections), the shared model cache.

    Args:
        at: the collection's directory when it is not (yet) in place (a restore's staging directory).

    Raises:
        StoreError: the directory's server tag is unreadable.
    """
    cache = settings.model_cache_dir or settings.data_dir / "models"
    path = at or directory(settings, name)
    tag = server_tag(path)
    update: dict[str, object] = {"data_dir": path, "model_cache_dir": cache}
    if settings.vector_store == "weaviate":
        update["weaviate_collection_prefix"] = weaviate_prefix(settings, name, tag)
    if settings.graph_store == "neo4j":
        update["neo4j_label_prefix"] = neo4j_label_prefix(settings, name, tag)
    own = path / "ontology.yaml"
    if own.is_file():  # the collection's own ontology (see service.ontology)
        update["ontology_path"] = own
    return settings.model_copy(update=update)


def build_pipeline(settings: Settings, store: KnowledgeStore, nlp: NlpRunner, embedders: Embedders,
                   proposals: ProposalSink | None = None) -> IngestPipeline:
    """An ingest pipeline over one collection's store and shared models (as :meth:`AppContext.pipeline`): it
    embeds with the store's model (:meth:`Embedders.of_store`) and writes every other live vector space too;
    ``proposals``: where its review items go (the collection's review queue).

    Raises:
        ConfigError: the store was built with another embedding model (see :mod:`service.model_stamps`).
    """
    embedder = embedders.of_store(store)
    model_stamps.check_embedder(store, embedder.identity)
    model_stamps.check_pipeline(store, *pipeline_identity(settings.spacy_model))
    mirrors = Mirrors(settings, store, embedders)
    store.also_close(mirrors.close)
    return IngestPipeline(
        store, nlp, embedder, Chunker(settings.chunk_size, settings.chunk_overlap),
        max_file_bytes=settings.max_file_bytes,
        json_fields=JsonFields(settings.json_text_field, settings.json_title_field, settings.json_id_field),
        batch_documents=settings.write_batch_documents, batch_chunks=settings.ingest_batch_chunks,
        mirrors=mirrors, proposals=proposals,
        review_below=settings.review_below,
    )


def public_source(collection_dir: Path, source: str) -> str:
    """A document source as clients see it: relative to the collection's files, else the file name only."""
    path = Path(source)
    files = (collection_dir / "files").resolve()
    return str(path.relative_to(files)) if path.is_relative_to(files) else path.name
