"""Documents of a collection: ingest (as a job), list, show, delete."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_415_UNSUPPORTED_MEDIA_TYPE

from api.http import uploads
from api.http.auth import caller, requires
from api.http.deps import CollectionDep, Limit, Offset, RuntimeDep
from api.http.openapi import IngestOperation
from api.http.schemas import Deleted, DocumentOut, DocumentPage, IngestRequest, JobOut
from api.http.views import document_out, document_summary, job_out
from core.errors import NotFoundError


def _decode_ingest(body: bytes) -> IngestRequest:
    try:
        return msgspec.json.decode(body, type=IngestRequest)
    except msgspec.ValidationError as exc:
        raise ValidationException("invalid JSON body", extra=[{"message": str(exc), "source": "body"}]) from exc
    except msgspec.DecodeError as exc:
        raise ValidationException(f"malformed JSON: {exc}") from exc


class DocumentsController(Controller):
    """Documents; ingest answers 202 with a job to poll."""

    path = "/documents"
    tags = ["documents"]

    @post("/", guards=[requires("editor")], status_code=HTTP_202_ACCEPTED, operation_class=IngestOperation,
          summary="Ingest documents (multipart files or JSON records)")
    async def ingest(self, request: Request[Any, Any, Any], collection: CollectionDep, runtime: RuntimeDep,
                     ) -> Response[JobOut]:
        """Store the files or documents in the collection, queue an ingest job and answer 202 with it.

        ``multipart/form-data``: one or more file parts (txt md html pdf docx json jsonl).
        ``application/json``: ``{"documents": [{"text", "title"?, "id"?}]}``.
        """
        media = request.content_type[0]
        if media == "application/json":
            data = _decode_ingest(await request.body())
            paths, ids = await runtime.work.query(uploads.save_records, runtime.settings, collection.name,
                                                  data.documents)
        elif media == "multipart/form-data":
            form = await request.form()
            files = [(v.filename, await v.read()) for _, v in form.multi_items() if isinstance(v, UploadFile)]
            if not files:
                raise ValidationException("no file parts", extra=[{"key": "files", "message": "no file uploaded",
                                                                   "source": "body"}])
            paths = await runtime.work.query(uploads.save_files, runtime.settings, collection.name, files)
            ids = []
        else:
            raise HTTPException(status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                detail=f"send multipart/form-data or application/json, not {media or 'nothing'}")
        key = caller(request)

        def queue() -> JobOut:
            job = runtime.jobs.create(collection.name, paths, ids, key.id)
            runtime.audit.record(key, collection.name, "documents.ingest", job.id, after={"files": job.paths})
            return job_out(job)

        job = await runtime.work.query(queue)
        location = f"/v1/collections/{collection.name}/jobs/{job.id}"
        return Response(job, status_code=HTTP_202_ACCEPTED, headers={"Location": location})

    @get("/", guards=[requires("reader")], summary="List documents")
    async def list_documents(
        self, collection: CollectionDep, runtime: RuntimeDep,
        offset: Offset = 0, limit: Limit = 50,
    ) -> DocumentPage:
        """Documents ordered by id, a page at a time."""
        def page() -> DocumentPage:
            graph = collection.store.graph
            items = [document_summary(collection, d) for d in graph.list_documents(offset, limit)]
            return DocumentPage(items, offset, limit, graph.stats().documents)

        return await runtime.work.query(page)

    @get("/{doc_id:str}", guards=[requires("reader")], summary="One document")
    async def get_document(self, doc_id: FromPath[str], collection: CollectionDep, runtime: RuntimeDep) -> DocumentOut:
        """The document with its text."""
        doc = await runtime.work.query(collection.store.graph.get_document, doc_id)
        if doc is None:
            raise NotFoundError(f"no document {doc_id!r}")
        return document_out(collection, doc)

    @delete("/{doc_id:str}", guards=[requires("editor")], status_code=200, summary="Delete a document")
    async def delete_document(self, doc_id: FromPath[str], request: Request[Any, Any, Any], collection: CollectionDep,
                              runtime: RuntimeDep) -> Deleted:
        """Remove the document and exactly what it alone contributed (entities, relations, vectors)."""
        key = caller(request)

        def remove() -> Deleted:
            doc = collection.store.graph.get_document(doc_id)
            if doc is None:
                raise NotFoundError(f"no document {doc_id!r}")
            removed = collection.store.delete(doc_id)
            still_used = bool(collection.store.graph.find_documents(doc.source))
            uploads.remove_orphan_file(runtime.settings, collection.name, doc.source, still_used)
            runtime.audit.record(key, collection.name, "document.delete", doc_id,
                                 before={"title": doc.title, "sha256": doc.sha256}, after=None)
            return Deleted(doc_id, len(removed))

        return await runtime.work.query(remove)
