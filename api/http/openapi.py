"""The OpenAPI document (``/schema/openapi.json``) and Swagger UI (``/schema`` and ``/schema/swagger``)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityScheme,
)

_DOCUMENTS = Schema(
    type=OpenAPIType.OBJECT, required=["documents"],
    properties={"documents": Schema(
        type=OpenAPIType.ARRAY, min_items=1,
        items=Schema(type=OpenAPIType.OBJECT, required=["text"], properties={
            "text": Schema(type=OpenAPIType.STRING, min_length=1),
            "title": Schema(type=OpenAPIType.STRING, description="Optional title."),
            "id": Schema(type=OpenAPIType.STRING, description="Optional id; default: the content hash."),
        }),
    )},
)
_FILES = Schema(
    type=OpenAPIType.OBJECT, required=["files"],
    properties={"files": Schema(type=OpenAPIType.ARRAY,
                                items=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))},
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
