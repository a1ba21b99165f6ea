"""Operations endpoints: health, readiness, metrics, OpenAPI and Swagger UI."""

from __future__ import annotations

import pytest

from api.http.runtime import Runtime
from core.errors import StoreUnavailableError
from tests.api.conftest import Harness


def test_health_and_readiness(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    assert harness.client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = harness.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"models": "ok", "stores": "ok",
                                                                   "ingest_worker": "running"}
    runtime: Runtime = harness.client.app.state.runtime
    collection = runtime.registry.get("alpha")

    def down() -> str:
        raise StoreUnavailableError("gone")

    monkeypatch.setattr(collection.store.graph, "version", down)
    res = harness.client.get("/readyz")
    assert res.status_code == 503 and res.headers["retry-after"] and res.json()["checks"]["stores"].startswith(
        "unavailable")


def test_metrics_expose_requests_latency_and_ingest(harness: Harness) -> None:
    harness.client.post("/v1/collections/alpha/retrieve", json={"question": "Who owns Baltia Lines?", "mode": "dense"},
                        headers=harness.h("reader_alpha"))
    res = harness.client.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    text = res.text
    route = 'method="POST",route="/v1/collections/{c}/retrieve"'
    assert f'hopgraph_http_requests_total{{{route},status="200"}}' in text
    assert f'hopgraph_http_request_duration_seconds_bucket{{{route},le="+Inf"}}' in text
    assert 'hopgraph_retrieval_duration_seconds_count{mode="dense"}' in text
    assert 'hopgraph_ingest_documents_total{collection="alpha"} 8' in text
    assert 'hopgraph_ingest_jobs{state="succeeded"}' in text
    for line in text.splitlines():  # every sample line parses as name{labels} value
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_openapi_and_swagger(harness: Harness) -> None:
    schema = harness.client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    for path in ("/v1/collections/{c}/documents", "/v1/collections/{c}/jobs/{job_id}", "/v1/collections/{c}/retrieve",
                 "/v1/collections/{c}/query", "/v1/collections/{c}/entities", "/v1/collections/{c}/paths",
                 "/healthz", "/readyz", "/metrics"):
        assert path in paths, path
    ingest = paths["/v1/collections/{c}/documents"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(ingest)
    answered = paths["/v1/collections/{c}/query"]["post"]["responses"]["200"]["content"]
    assert set(answered) == {"application/json", "text/event-stream"}  # stream: true answers with SSE
    assert {"bearer", "apiKey"} <= set(schema["components"]["securitySchemes"])
    ui = harness.client.get("/schema/swagger")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()
