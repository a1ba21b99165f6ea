"""Documents of a store: list, read, find, delete, and queueing an ingest job.

The CLI (on DATA_DIR's own store) and the HTTP API (on a collection) call these same
functions. Blocking: the HTTP face runs them in its worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError, NotFoundError
from core.settings import Settings
from graph.knowledge import KnowledgeStore
from graph.model import Document, StoreStats
from graph.ports import GraphStore
from service import uploads
from service.audit import Actor, AuditLog
from service.jobs import Job, JobStore

MAX_CONTENT_CHUNKS = 500  # chunks a content search ranks


@dataclass(frozen=True, slots=True)
class DocumentPage:
    """One page of documents, ordered by id, and how many there are in all."""

    documents: list[Document]
    offset: int
    limit: int
    total: int


@dataclass(frozen=True, slots=True)
class Deleted:
    """A deleted document and how many entities went with it."""

    document: Document
    entities_removed: int


def stats(graph: GraphStore) -> StoreStats:
    """Counts of what the store holds."""
    return graph.stats()


def page(graph: GraphStore, offset: int, limit: int) -> DocumentPage:
    """Documents ``offset`` .. ``offset + limit`` (by id)."""
    return DocumentPage(graph.list_documents(offset, limit), offset, limit, graph.stats().documents)


def search(store: KnowledgeStore, text: str, offset: int, limit: int, *, content: bool = False) -> DocumentPage:
    """Documents whose title or source contains ``text`` (case-insensitive, by id, a page of them); with
    ``content``, documents whose text matches ``text`` as keywords instead (BM25, best first; ``total`` counts
    the matches found among the best :data:`MAX_CONTENT_CHUNKS` chunks).

    Raises:
        InputError: ``text`` is blank.
    """
    if not text.strip():
        raise InputError("the search text is blank")
    if not content:
        found, total = store.graph.search_documents(text.strip(), offset, limit)
        return DocumentPage(found, offset, limit, total)
    ranked = list(dict.fromkeys(hit.doc_id for hit in store.vectors.keyword_search(text, MAX_CONTENT_CHUNKS)))
    docs = [d for doc_id in ranked[offset : offset + limit] if (d := store.graph.get_document(doc_id)) is not None]
    return DocumentPage(docs, offset, limit, len(ranked))


def all_ids(graph: GraphStore, page: int = 1000) -> list[str]:
    """The id of every stored document, in order."""
    out: list[str] = []
    while True:
        batch = graph.list_documents(len(out), page)
        out.extend(d.id for d in batch)
        if len(batch) < page:
            return out


def get(graph: GraphStore, doc_id: str) -> Document:
    """The document ``doc_id`` with its text.

    Raises:
        NotFoundError: no such document.
    """
    doc = graph.get_document(doc_id)
    if doc is None:
        raise NotFoundError(f"no document {doc_id!r}")
    return doc


def resolve(graph: GraphStore, id_or_source: str) -> list[Document]:
    """The documents with this id, or coming from this source path (a file gives several).

    Raises:
        NotFoundError: none.
    """
    key = str(Path(id_or_source).resolve()) if Path(id_or_source).exists() else id_or_source
    docs = graph.find_documents(key)
    if not docs:
        raise NotFoundError(f"no document with id or source {id_or_source!r}")
    return docs


def delete(store: KnowledgeStore, doc_id: str, audit: AuditLog, by: Actor, *,
           collection: str | None = None, settings: Settings | None = None,
           visible: GraphStore | None = None) -> Deleted:
    """Delete a document and exactly what it alone contributed (entities, relations, vectors); audited.

    In a collection (``collection`` and the server ``settings`` given) an uploaded file no
    other document comes from is removed too.

    Raises:
        NotFoundError: no such document (or none that ``visible``, the caller's view, shows: the same error).
        StoreError: the store failed (nothing was removed from the graph).
    """
    doc = get(visible if visible is not None else store.graph, doc_id)
    removed = store.delete(doc_id)
    if collection is not None and settings is not None:
        uploads.remove_orphan_file(settings, collection, doc.source, bool(store.graph.find_documents(doc.source)))
    audit.record(by, collection, "document.delete", doc_id, before={"title": doc.title, "sha256": doc.sha256})
    return Deleted(doc, len(removed))


def queue_ingest(jobs: JobStore, audit: AuditLog, by: Actor, collection: str, paths: list[str],
                 documents: list[str], acl: tuple[str, ...] = (), restricted: bool = False) -> Job:
    """Queue an ingest job for files already stored in the collection directory; audited.

    ``acl``: who may see the documents (none: everyone in the collection), unless a JSON record has its own;
    ``restricted``: some record carries its own ACL (the job is then shown to its creator and to keys that
    see every document only, as a job with an ``acl``).

    Raises:
        StoreError: the server database failed.
    """
    payload: dict[str, object] = {"acl": list(acl)} if acl else {}
    if restricted:
        payload["restricted"] = True
    job = jobs.create(collection, paths, documents, by.id if not isinstance(by, str) else None,
                      payload=payload or None)
    audit.record(by, collection, "documents.ingest", job.id,
                 after={"files": job.paths, **({"acl": list(acl)} if acl else {})})
    return job
