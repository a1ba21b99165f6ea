"""The HTTP API on Neo4j + Weaviate: a collection ingests, answers, is curated and is deleted with its data;
one Neo4j database serves one collection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.http.app import create_app
from core.settings import Settings
from tests.api.conftest import BETA_DOCS, Harness, api_settings, make_keys
from tests.contract.conftest import neo4j_available, unique_prefix, weaviate_available  # noqa: F401 - fixtures


@pytest.fixture
def server_harness(tmp_path: Path, model_cache: Path, neo4j_available: None,  # noqa: F811
                   weaviate_available: None) -> Iterator[Harness]:  # noqa: F811
    from bench.profiles import wipe_neo4j

    settings: Settings = api_settings(tmp_path / "data", model_cache, graph_store="neo4j", vector_store="weaviate",
                                      weaviate_collection_prefix=unique_prefix())
    wipe_neo4j(settings)
    with TestClient(create_app(settings)) as client:
        yield Harness(client, settings, make_keys(settings))
    wipe_neo4j(settings)


def test_a_collection_on_neo4j_and_weaviate(server_harness: Harness) -> None:
    hz, c, admin = server_harness, server_harness.client, server_harness.h("admin")
    assert c.post("/v1/collections", json={"name": "beta"}, headers=admin).status_code == 201
    second = c.post("/v1/collections", json={"name": "alpha"}, headers=admin)
    assert second.status_code == 409 and "one collection" in second.json()["detail"]

    job = c.post("/v1/collections/beta/documents", json={"documents": BETA_DOCS}, headers=hz.h("editor_beta"))
    assert hz.wait_job("beta", job.json()["id"])["state"] == "succeeded"
    hz.wait_ready()
    got = c.post("/v1/collections/beta/retrieve", json={"question": "Who founded Orvane Mining?"},
                 headers=hz.h("reader_beta"))
    assert got.status_code == 200, got.text
    assert any("Orvane" in p["text"] for p in got.json()["passages"])

    hits = c.get("/v1/collections/beta/entities", params={"q": "Orvane Mining"}, headers=hz.h("reader_beta")).json()
    orvane = hits[0]["id"]
    patched = c.patch(f"/v1/collections/beta/entities/{orvane}", json={"name": "Orvane Mining AB"},
                      headers=hz.h("curator_beta"))
    assert patched.status_code == 202, patched.text
    assert hz.wait_job("beta", patched.json()["job"]["id"])["state"] == "succeeded"
    entity = c.get(f"/v1/collections/beta/entities/{orvane}", headers=hz.h("reader_beta")).json()
    assert entity["name"] == "Orvane Mining AB"

    assert c.delete("/v1/collections/beta", headers=admin).status_code == 204
    # its graph and vectors went with it: a new collection starts empty
    assert c.post("/v1/collections", json={"name": "alpha"}, headers=admin).status_code == 201
    stats = c.get("/v1/collections/alpha", headers=admin).json()
    assert stats["documents"] == 0 and stats["entities"] == 0, stats
    none = c.post("/v1/collections/alpha/retrieve", json={"question": "Who founded Orvane Mining?"},
                  headers=hz.h("reader_alpha"))
    assert none.status_code == 200 and none.json()["passages"] == []
