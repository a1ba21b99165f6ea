"""The OpenAPI document (``/schema/openapi.json``) and Swagger UI (``/schema`` and ``/schema/swagger``)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityScheme,
)

PROBLEM = Schema(
    type=OpenAPIType.OBJECT, required=["type", "title", "status", "detail"], description="RFC 9457 problem details.",
    properties={
        "type": Schema(type=OpenAPIType.STRING), "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER), "detail": Schema(type=OpenAPIType.STRING),
        "field": Schema(type=OpenAPIType.STRING, description="The request field at fault (400/422)."),
        "invalid_params": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
        "violations": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT),
                             description="What the graph violates (409 on PUT ontology)."),
    },
)
_STATUS_TEXT = {"400": "Bad request", "401": "No or unknown API key",
                "403": "The key's role (or, for curator work, its principals) does not allow it",
                "404": "Not found (or not visible to this key)", "413": "Content too large",
                "422": "Validation failed", "429": "Rate limit exceeded (Retry-After)",
                "503": "A store is unavailable (Retry-After)"}

_DOCUMENTS = Schema(
    type=OpenAPIType.OBJECT, required=["documents"],
    properties={"documents": Schema(
        type=OpenAPIType.ARRAY, min_items=1,
        items=Schema(type=OpenAPIType.OBJECT, required=["text"], properties={
            "text": Schema(type=OpenAPIType.STRING, min_length=1),
            "title": Schema(type=OpenAPIType.STRING, description="Optional title."),
            "id": Schema(type=OpenAPIType.STRING, description="Optional id; default: the content hash."),
            "acl": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING), max_items=64,
                          description="Who may see it (principals such as group:finance, user:ana); "
                                      "omitted or empty: everyone in the collection."),
        }),
    )},
)
_FILES = Schema(
    type=OpenAPIType.OBJECT, required=["files"],
    properties={"files": Schema(type=OpenAPIType.ARRAY,
                                items=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)),
                "acl": Schema(type=OpenAPIType.STRING,
                              description="Who may see the files' documents: comma-separated principals "
                                          "(group:finance,user:ana); omitted: everyone in the collection. "
                                          "A JSON record's own acl field wins.")},
)


@dataclass
class IngestOperation(Operation):
    """The ingest operation accepts either multipart files or JSON documents."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True, description="Files (multipart/form-data, any part name) or JSON documents.",
            content={"multipart/form-data": OpenAPIMediaType(schema=_FILES),
                     "application/json": OpenAPIMediaType(schema=_DOCUMENTS)},
        )


def openapi_config() -> OpenAPIConfig:
    """OpenAPI settings: bearer or X-API-Key security, Swagger UI."""
    return OpenAPIConfig(
        title="hopgraph", version="1",
        description="Knowledge-graph RAG over collections: ingest documents, retrieve explained evidence, "
                    "ask questions with cited answers, explore the entity graph.",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(path=["/", "/swagger"])],
        components=Components(security_schemes={
            "bearer": SecurityScheme(type="http", scheme="bearer", description="Authorization: Bearer <key>"),
            "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
        }),
        security=[{"bearer": []}, {"apiKey": []}],
        use_handler_docstrings=True,
    )


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(description=description,
                           content={"application/problem+json": OpenAPIMediaType(schema=PROBLEM)})


def document_problems(openapi: OpenAPI) -> None:
    """Make every error response of ``openapi`` what the server sends: ``application/problem+json``.

    Each operation under ``/v1`` also lists the errors every such request may meet (401, 403, 429, 503;
    404 in a collection; 400 and 422 where it takes parameters or a body).
    """
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for code, response in list(responses.items()):
                if code >= "400" and isinstance(response, OpenAPIResponse):
                    responses[code] = _problem_response(response.description)
            if path.startswith("/v1"):
                codes = ["401", "403", "429", "503"]
                if "{c}" in path or "{key_id}" in path or "{" in path:
                    codes.append("404")
                if operation.parameters or operation.request_body is not None:
                    codes += ["400", "422"]
                if operation.request_body is not None:
                    codes.append("413")
                for code in codes:
                    responses.setdefault(code, _problem_response(_STATUS_TEXT[code]))
            operation.responses = responses


STREAMED = {"/v1/collections/{c}/query": "post"}
_EVENTS = Schema(
    type=OpenAPIType.STRING,
    description="Server-Sent Events (with stream: true): 'token' events {\"text\": ...}, then one 'answer' event "
                "whose data is the application/json body, or one 'error' event whose data is a problem.",
)


def document_streams(openapi: OpenAPI) -> None:
    """Add ``text/event-stream`` to the 200 response of the operations that stream on request."""
    for path, method in STREAMED.items():
        item = (openapi.paths or {})[path]
        operation: Operation = getattr(item, method)
        response = (operation.responses or {})["200"]
        if isinstance(response, OpenAPIResponse) and response.content is not None:
            response.content["text/event-stream"] = OpenAPIMediaType(schema=_EVENTS)
