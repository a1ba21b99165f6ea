"""Documents of a collection: ingest (as a job), list, show, delete."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_415_UNSUPPORTED_MEDIA_TYPE

from api.http.auth import caller, requires
from api.http.deps import CollectionDep, Limit, Offset, ReadingDep, RuntimeDep
from api.http.openapi import IngestOperation
from api.http.schemas import Deleted, DocumentOut, DocumentPage, IngestRequest, JobOut
from api.http.views import document_out, document_summary, job_out
from service import documents, uploads
from service.access import parse_principals


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

        ``multipart/form-data``: one or more file parts (txt md html pdf docx json jsonl), and optionally a
        field ``acl``: comma-separated principals who may see them (a JSON record's own ``acl`` wins).
        ``application/json``: ``{"documents": [{"text", "title"?, "id"?, "acl"?}]}``.
        No ACL: everyone in the collection sees the document.
        """
        media = request.content_type[0]
        acl: tuple[str, ...] = ()
        restricted = False  # some JSON record has its own ACL
        key = caller(request)
        owner = None if key.viewer.sees_everything else key.id  # never replaces a document it cannot see
        if media == "application/json":
            data = _decode_ingest(await request.body())
            restricted = any(d.acl for d in data.documents)
            paths, ids = await runtime.work.query(uploads.save_records, runtime.settings, collection.name,
                                                  data.documents, owner)
        elif media == "multipart/form-data":
            form = await request.form()
            files = [(v.filename, await v.read()) for _, v in form.multi_items() if isinstance(v, UploadFile)]
            fields = [v for k, v in form.multi_items() if k == "acl" and isinstance(v, str)]
            acl = parse_principals(",".join(fields), allow_all=False)
            if not files:
                raise ValidationException("no file parts", extra=[{"key": "files", "message": "no file uploaded",
                                                                   "source": "body"}])
            paths = await runtime.work.query(uploads.save_files, runtime.settings, collection.name, files, owner)
            ids = []
        else:
            raise HTTPException(status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                detail=f"send multipart/form-data or application/json, not {media or 'nothing'}")

        job = job_out(await runtime.work.query(documents.queue_ingest, runtime.jobs, runtime.audit, key,
                                               collection.name, paths, ids, acl, restricted))
        location = f"/v1/collections/{collection.name}/jobs/{job.id}"
        return Response(job, status_code=HTTP_202_ACCEPTED, headers={"Location": location})

    @get("/", guards=[requires("reader")], summary="List documents")
    async def list_documents(
        self, collection: CollectionDep, reading: ReadingDep, runtime: RuntimeDep,
        offset: Offset = 0, limit: Limit = 50,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=500, description=(
            "Only documents whose title or source contains this (case-insensitive); with ``match=text``, "
            "documents whose text matches it as keywords, best first."))] = None,
        match: Annotated[Literal["title", "text"], QueryParameter(description="What ``q`` searches.")] = "title",
    ) -> DocumentPage:
        """Documents ordered by id, a page at a time (those the key may see), or those matching ``q``."""
        if q is None:
            found = await runtime.work.query(documents.page, reading.store.graph, offset, limit)
        else:
            found = await runtime.work.query(partial(documents.search, reading.store, q, offset, limit,
                                                     content=match == "text"))
        return DocumentPage([document_summary(collection, d) for d in found.documents], offset, limit, found.total)

    @get("/{doc_id:str}", guards=[requires("reader")], summary="One document")
    async def get_document(self, doc_id: FromPath[str], collection: CollectionDep, reading: ReadingDep,
                           runtime: RuntimeDep) -> DocumentOut:
        """The document with its text (404 for a document the key may not see, as for one that does not exist)."""
        return document_out(collection, await runtime.work.query(documents.get, reading.store.graph, doc_id))

    @delete("/{doc_id:str}", guards=[requires("editor")], status_code=200, summary="Delete a document")
    async def delete_document(self, doc_id: FromPath[str], request: Request[Any, Any, Any], collection: CollectionDep,
                              reading: ReadingDep, runtime: RuntimeDep) -> Deleted:
        """Remove the document and exactly what it alone contributed (entities, relations, vectors)."""
        gone = await runtime.work.query(partial(documents.delete, collection.store, doc_id, runtime.audit,
                                                caller(request), collection=collection.name,
                                                settings=runtime.settings, visible=reading.store.graph))
        return Deleted(doc_id, gone.entities_removed)
