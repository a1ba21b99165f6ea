"""Request and response bodies of the HTTP API (msgspec structs; validated by Litestar)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

from api.shapes import UsageOut
from service.collections import NAME_PATTERN
from service.types import PathEdge

Mode = Literal["dense", "keyword", "graph", "hybrid"]
Role = Literal["reader", "editor", "curator", "admin"]
MAX_OFFSET = 1_000_000_000_000
"""The largest ``offset`` of a paged list (beyond any store's size, within every store's integers)."""

Question = Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"\S", description="The question.")]
TopK = Annotated[int, Meta(ge=1, le=50, description="Passages to retrieve (default: settings.top_k).")]


class RetrieveRequest(Struct, forbid_unknown_fields=True):
    """A question to retrieve evidence for."""

    question: Question
    mode: Mode | None = None
    k: TopK | None = None


class QueryRequest(Struct, forbid_unknown_fields=True):
    """A question to answer; ``stream`` answers with Server-Sent Events (``token``..., then ``answer``)."""

    question: Question
    mode: Mode | None = None
    k: TopK | None = None
    extractive: bool = False
    stream: bool = False


class DocumentIn(Struct, forbid_unknown_fields=True):
    """One document given as JSON; without ``id`` the content hash names it (re-sending it changes nothing)."""

    text: Annotated[str, Meta(min_length=1, pattern=r"\S")]
    title: Annotated[str, Meta(max_length=1000)] = ""
    id: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    acl: Annotated[list[str], Meta(max_length=64)] | None = None
    """Who may see the document (``group:finance``, ``user:ana``); omitted or empty: everyone in the collection.
    Everything derived from it (passages, entities, relations, descriptions) is hidden from other keys."""


class IngestRequest(Struct, forbid_unknown_fields=True):
    """Documents to ingest."""

    documents: Annotated[list[DocumentIn], Meta(min_length=1, max_length=100_000)]


class Progress(Struct):
    """Documents committed of those the job writes (unchanged ones are skipped), and characters of their text
    processed (``text_done`` of ``text_total``: it moves inside a large document too)."""

    done: int
    total: int
    text_done: int = 0
    text_total: int = 0


class FileError(Struct):
    """A file that was not ingested, and why."""

    file: str
    reason: str


class JobOut(Struct):
    """A job. ``kind``: ``ingest`` (files), ``curate`` (documents of curated entities extracted again) or
    ``migrate`` (the collection's vectors rebuilt with another embedding model; ``report`` holds the gate).
    ``state``: queued, running, succeeded, failed, cancelled (or interrupted, until resumed)."""

    id: str
    kind: str
    collection: str
    state: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: Progress
    files: list[str]
    documents: list[str]
    errors: list[FileError]
    report: dict[str, Any] | None
    error: str | None
    attempts: int


Name = Annotated[str, Meta(min_length=1, max_length=300, pattern=r"\S")]
EntityId = Annotated[str, Meta(min_length=1, max_length=64)]


class DocumentSummary(Struct):
    """A stored document."""

    id: str
    title: str
    source: str
    sha256: str
    metadata: dict[str, Any]


class DocumentOut(Struct):
    """A stored document with its text."""

    id: str
    title: str
    source: str
    sha256: str
    metadata: dict[str, Any]
    text: str


class DocumentPage(Struct):
    """A page of documents, ordered by id."""

    items: list[DocumentSummary]
    offset: int
    limit: int
    total: int


class Deleted(Struct):
    """What a deletion removed."""

    id: str
    entities_removed: int


class EntityHit(Struct):
    """An entity found by name or alias."""

    id: str
    name: str
    type: str
    score: float


class EntityBrief(Struct):
    """An entity's identity."""

    id: str
    name: str
    type: str


class EvidenceOut(Struct):
    """A chunk that states a relation, with the stating sentence's span and text."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    confidence: float
    text: str


class NeighbourOut(Struct):
    """A relation of the entity: ``out`` when the entity is its head."""

    direction: str
    relation_id: str
    relation_type: str
    confidence: float
    entity: EntityBrief
    evidence: list[EvidenceOut]


class DocumentRef(Struct):
    """A document by id and title."""

    id: str
    title: str


class EntityOut(Struct):
    """An entity with aliases, description and neighbours."""

    id: str
    name: str
    type: str
    aliases: list[str]
    description: str
    curated: bool  # a curator fixed its name and type
    neighbours: list[NeighbourOut]
    documents: list[DocumentRef]  # the documents that mention it, by id (at most 100)
    document_count: int  # how many documents mention it


class PathsOut(Struct):
    """The shortest relation path between two entities (none when they are not joined within ``max_hops``)."""

    source: str
    target: str
    max_hops: int
    paths: list[list[PathEdge]]


class CollectionIn(Struct, forbid_unknown_fields=True):
    """A collection to create."""

    name: Annotated[str, Meta(pattern=NAME_PATTERN)]


class CollectionOut(Struct):
    """A collection and what it holds."""

    name: str
    documents: int
    chunks: int
    entities: int
    relations: int
    mentions: int
    unfinished_jobs: int


class KeyIn(Struct, forbid_unknown_fields=True):
    """A key to create; ``collections`` may be ``["*"]`` (ignored for admin)."""

    role: Role
    collections: list[str] = []
    name: Annotated[str, Meta(max_length=200)] = ""
    principals: Annotated[list[str], Meta(max_length=64)] | None = None
    """Whose documents the key reads (``group:finance``, ``user:ana``; ``*``: every document). Omitted: none (documents
    without an ACL) for readers, ``*`` for editors, curators and admins."""


class KeyOut(Struct):
    """A key without its secret."""

    id: str
    name: str
    role: str
    collections: list[str]
    created_at: float
    revoked_at: float | None
    principals: list[str]


class KeyCreated(Struct):
    """A new key; ``key`` is the secret, shown this once."""

    key: str
    id: str
    name: str
    role: str
    collections: list[str]
    created_at: float
    principals: list[str]


class AuditOut(Struct):
    """One audit-log entry."""

    seq: int
    at: float
    key_id: str | None
    key_name: str | None
    action: str
    target: str
    before: Any
    after: Any


class Health(Struct):
    """Liveness or readiness."""

    status: str
    checks: dict[str, str] = {}


ModelKind = Literal["embedder", "reader", "spacy"]


class ModelIn(Struct, forbid_unknown_fields=True):
    """A model to enter in the registry: a file or directory on the server's disk."""

    kind: ModelKind
    path: Annotated[str, Meta(min_length=1, max_length=4096)]
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    licence: Annotated[str, Meta(max_length=200)] = ""


class ModelOut(Struct):
    """One version of a model: where it comes from and its checksum."""

    kind: str
    name: str
    version: int
    source: str
    sha256: str
    size: int
    licence: str
    added_at: float


class RolledBack(Struct):
    """The model a rollback left (``rolled_back``) and the one now in use (None: the settings' own)."""

    kind: str
    rolled_back: str
    now: str | None


class MigrateIn(Struct, forbid_unknown_fields=True):
    """An embedding migration: the model to move the collection's vectors to (a packaged name or a
    sentence-transformers directory on the server's disk); ``force`` switches past a failed gate or without a
    golden set (the collection's ``golden.json``)."""

    model: Annotated[str, Meta(min_length=1, max_length=4096)]
    force: bool = False


class SpaceOut(Struct):
    """One vector space: its embedding model and whether its vectors are complete (``building`` or ``ready``)."""

    name: str
    checksum: str
    dimension: int
    state: str


class SpacesOut(Struct):
    """A collection's vector spaces: ``active`` answers queries (``""``: the original one), ``previous`` is where
    a rollback returns; every listed space is kept current by ingest."""

    active: str
    previous: str | None
    spaces: dict[str, SpaceOut]


class EmbedderRolledBack(Struct):
    """The space and model a rollback switched the collection back to."""

    space: str
    model: str
    seconds: float


class PromoteIn(Struct, forbid_unknown_fields=True):
    """A promotion through the gate: the registry entry ``name``, evaluated on ``collection``'s golden set."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    collection: Annotated[str, Meta(min_length=1, max_length=64)]
    force: bool = False


class GoldenOut(Struct):
    """The size of a collection's golden set."""

    questions: int


CollectionName = Annotated[str, Meta(pattern=NAME_PATTERN)]


class BackupIn(Struct, forbid_unknown_fields=True):
    """A backup to take (into the server's backup directory): these ``collections``, or with ``all`` every
    collection, the data directory's own store and the server state; ``server_state`` adds keys (as hashes),
    jobs, the audit log and the model registry to named collections."""

    collections: list[CollectionName] = []
    all: bool = False
    server_state: bool = False


class BackupOut(Struct):
    """One backup: its stores (``default``: the data directory's own; ``c-<name>``: a collection) with their
    counts, whether it holds the server state and is signed, its size."""

    id: str
    created_at: float
    bytes: int
    files: int
    entries: dict[str, dict[str, Any]]
    server_state: bool
    signed: bool
    hopgraph_version: str


class RestoreIn(Struct, forbid_unknown_fields=True):
    """What to restore from a backup: one ``collection`` of it (default: each collection in it), optionally
    ``as`` another name; ``replace`` replaces an existing collection of that name once the new one is complete.
    The server state is restored with the CLI (``hopgraph restore --server-state``) on a stopped server."""

    collection: CollectionName | None = None
    as_: CollectionName | None = field(default=None, name="as")
    replace: bool = False


class UsageReport(Struct):
    """A collection's usage over a period (GET .../usage): totals, per API key id, requests per endpoint."""

    collection: str
    since: float  # epoch seconds
    until: float
    requests: int
    errors: int  # answered 5xx
    usage: UsageOut
    by_key: dict[str, UsageOut]
    requests_by_endpoint: dict[str, int]
