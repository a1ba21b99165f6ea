"""Every error is an RFC 9457 problem: the right status, no stack trace, the bad field named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.runtime import Runtime
from core.errors import ModelError, StoreUnavailableError
from service.access import Viewer
from service.views import Reading
from tests.api.conftest import Harness, api_settings, make_keys


def _problem(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    assert body["status"] == status and body["type"].startswith("urn:hopgraph:problem:")
    assert body["title"] and body["detail"] and "Traceback" not in res.text
    return body


def _beta(harness: Harness) -> Reading:
    """What the harness's beta reader key reads through (no principals: documents without an ACL)."""
    runtime: Runtime = harness.client.app.state.runtime
    return runtime.registry.get("beta").reading(Viewer.of([]))


def test_routing_errors(harness: Harness) -> None:
    _problem(harness.client.get("/v1/nothing-here", headers=harness.h("admin")), 404)
    _problem(harness.client.put("/v1/collections/beta/retrieve", headers=harness.h("admin")), 405)
    _problem(harness.client.get("/v1/collections/Not A Name/documents", headers=harness.h("admin")), 404)


def test_conflicts_and_bad_names(harness: Harness) -> None:
    _problem(harness.client.post("/v1/collections", json={"name": "alpha"}, headers=harness.h("admin")), 409)
    bad = _problem(harness.client.post("/v1/collections", json={"name": "../etc"}, headers=harness.h("admin")), 422)
    assert bad["field"] == "name"


@pytest.mark.parametrize("path", ["/v1/collections/alpha/documents", "/v1/collections/alpha/jobs",
                                  "/v1/collections/alpha/audit", "/v1/audit"])
def test_offsets_beyond_any_store_are_refused(harness: Harness, path: str) -> None:
    # found by the schema fuzz test: an offset past SQLite's 64-bit integers was a 500
    huge = harness.client.get(path, params={"offset": 806822152710350831616}, headers=harness.h("admin"))
    body = _problem(huge, 422)
    assert body["field"] == "offset" and body["invalid_params"][0]["in"] == "query"
    assert body["detail"].startswith("invalid query field 'offset'")
    assert harness.client.get(path, params={"offset": 10**12}, headers=harness.h("admin")).status_code == 200


def test_unavailable_store_is_503_with_retry_after(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_: object) -> None:
        raise StoreUnavailableError("bolt://10.0.0.7:7687 refused the connection")

    monkeypatch.setattr(_beta(harness).retriever, "retrieve", down)
    res = harness.client.post("/v1/collections/beta/retrieve", json={"question": "x"}, headers=harness.h("reader_beta"))
    body = _problem(res, 503)
    assert int(res.headers["retry-after"]) > 0 and "10.0.0.7" not in res.text and "retry" in body["detail"]


def test_unexpected_errors_are_500_without_internals(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret internals at /srv/hopgraph/keys")

    monkeypatch.setattr(_beta(harness).retriever, "retrieve", broken)
    res = harness.client.post("/v1/collections/beta/retrieve", json={"question": "x"}, headers=harness.h("reader_beta"))
    _problem(res, 500)
    assert "secret" not in res.text and "/srv" not in res.text

    def model_failed(*_: object) -> None:
        raise ModelError("cannot load /models/x.gguf")

    monkeypatch.undo()
    monkeypatch.setattr(_beta(harness).answerer, "generate", model_failed)
    res = harness.client.post("/v1/collections/beta/query", json={"question": "Who founded Orvane Mining?"},
                              headers=harness.h("reader_beta"))
    _problem(res, 500)
    assert "/models" not in res.text


def test_error_during_a_stream_is_an_error_event(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def model_failed(*_: object, **__: object) -> None:
        raise ModelError("the prompt exceeds the context")

    monkeypatch.setattr(_beta(harness).answerer, "generate", model_failed)
    with harness.client.stream("POST", "/v1/collections/beta/query", headers=harness.h("reader_beta"),
                               json={"question": "Who founded Orvane Mining?", "stream": True}) as res:
        text = res.read().decode()
    assert res.status_code == 200 and "event: error" in text and '"status": 500' in text and "answer" not in text


def test_request_over_the_size_limit_is_413(tmp_path: Path, model_cache: Path) -> None:
    settings = api_settings(tmp_path / "data", model_cache, api_max_request_bytes=2000, api_preload_models=False)
    keys = make_keys(settings)
    with TestClient(create_app(settings)) as c:
        h = {"Authorization": f"Bearer {keys['admin']}"}
        assert c.post("/v1/collections", json={"name": "alpha"}, headers=h).status_code == 201
        big = {"documents": [{"text": "word " * 1000}]}
        _problem(c.post("/v1/collections/alpha/documents", json=big, headers=h), 413)
        _problem(c.post("/v1/collections/alpha/documents", files=[("files", ("a.txt", b"x " * 2000))], headers=h), 413)
        assert not list((settings.data_dir / "collections" / "alpha" / "files").iterdir())  # nothing stored
