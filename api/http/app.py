"""The Litestar application: ``create_app(settings)``."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from api.http.auth import ApiKeyAuthMiddleware, rate_limit
from api.http.controllers.audit import AuditController, ServerAuditController
from api.http.controllers.backups import BackupsController
from api.http.controllers.collections import CollectionsController
from api.http.controllers.curation import CurationController, CurationRecordsController
from api.http.controllers.documents import DocumentsController
from api.http.controllers.embeddings import EmbeddingsController, GoldenController
from api.http.controllers.graph import GraphController
from api.http.controllers.jobs import JobsController
from api.http.controllers.keys import KeysController, WhoAmIController
from api.http.controllers.models import ModelsController
from api.http.controllers.ontology import OntologyController
from api.http.controllers.openai import ChatAliasController, OpenAIController
from api.http.controllers.ops import OpsController
from api.http.controllers.questions import QuestionsController
from api.http.controllers.review import ReviewController
from api.http.controllers.usage import UsageController
from api.http.controllers.web import WebController
from api.http.deps import provide_collection, provide_reading, provide_runtime
from api.http.metrics import MetricsMiddleware
from api.http.openapi import document_problems, document_streams, openapi_config
from api.http.problems import EXCEPTION_HANDLERS
from api.http.runtime import build_runtime, lifespan
from core.settings import Settings


def create_app(settings: Settings, metrics_dir: Path | None = None) -> Litestar:
    """Build the HTTP API over ``settings.data_dir`` (collections under ``collections/``).

    Nothing is loaded here: the lifespan starts the ingest worker and loads the models
    (``/readyz`` says when they are ready); collections open on first use. ``metrics_dir`` (set by
    ``hopgraph serve --workers N``) shares ``/metrics`` counts among the worker processes.

    Raises:
        StoreError: the server database cannot be opened.
    """
    runtime = build_runtime(settings, metrics_dir)
    collection_scoped = Router(
        path="/v1/collections/{c:str}",
        route_handlers=[DocumentsController, JobsController, QuestionsController, GraphController, AuditController,
                        OntologyController, CurationController, CurationRecordsController, EmbeddingsController,
                        GoldenController, UsageController, ReviewController],
        dependencies={"collection": Provide(provide_collection), "reading": Provide(provide_reading)},
    )
    v1 = Router(
        path="/",
        route_handlers=[CollectionsController, KeysController, WhoAmIController, ModelsController,
                        ServerAuditController, BackupsController, OpenAIController, ChatAliasController,
                        collection_scoped],
        middleware=[DefineMiddleware(ApiKeyAuthMiddleware)],
        guards=[rate_limit],
    )
    app = Litestar(
        route_handlers=[OpsController, WebController, v1],
        dependencies={"runtime": Provide(provide_runtime, sync_to_thread=False)},
        middleware=[MetricsMiddleware(runtime.metrics, runtime.usage, settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=openapi_config(),
        request_max_body_size=settings.api_max_request_bytes,
        state=State({"runtime": runtime}),
        debug=False,
    )
    document_problems(app.openapi_schema)  # built once here, served as amended
    document_streams(app.openapi_schema)
    return app
