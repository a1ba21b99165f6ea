"""The HTTP API on Neo4j + Weaviate: collections share one Neo4j database without meeting; a collection
ingests, answers, is curated and is deleted with its data (and its Neo4j schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.http.app import create_app
from core.settings import Settings
from graph.neo4j.connection import Neo4jConnection
from service import collections
from tests.api.conftest import BETA_DOCS, Harness, api_settings, make_keys
from tests.contract.conftest import neo4j_available, unique_prefix, weaviate_available  # noqa: F401 - fixtures

ALPHA_DOCS = [
    {"id": "a1", "title": "Halvard Brekke",
     "text": "Halvard Brekke founded Brekke Shipping in Bergen in 1931. Brekke Shipping owned the ferry Solvik."},
    BETA_DOCS[0],  # the same document in both collections: same ids, kept apart
]


def _schema_names(settings: Settings, prefix: str) -> list[str]:
    conn = Neo4jConnection(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password,
                           settings.neo4j_database, settings.store_timeout_s)
    try:
        return [str(r["name"]) for kind in ("CONSTRAINTS", "INDEXES")
                for r in conn.read(f"SHOW {kind} YIELD name WHERE name STARTS WITH $p RETURN name",
                                   p=f"hopgraph_{prefix}")]
    finally:
        conn.close()


@pytest.fixture
def server_harness(tmp_path: Path, model_cache: Path, neo4j_available: None,  # noqa: F811
                   weaviate_available: None) -> Iterator[Harness]:  # noqa: F811
    prefix = unique_prefix()  # of the Neo4j labels and the Weaviate collections: other data stays untouched
    settings: Settings = api_settings(tmp_path / "data", model_cache, graph_store="neo4j", vector_store="weaviate",
                                      weaviate_collection_prefix=prefix, neo4j_label_prefix=prefix)
    with TestClient(create_app(settings)) as client:
        hz = Harness(client, settings, make_keys(settings))
        yield hz
        for name in ("alpha", "beta"):  # drop what a failed test left
            client.delete(f"/v1/collections/{name}", headers=hz.h("admin"))


def _ingest(hz: Harness, name: str, docs: list[dict[str, str]]) -> None:
    job = hz.client.post(f"/v1/collections/{name}/documents", json={"documents": docs}, headers=hz.h(f"editor_{name}"))
    assert job.status_code == 202, job.text
    done = hz.wait_job(name, job.json()["id"])
    assert done["state"] == "succeeded" and not done["errors"], done


def _passages(hz: Harness, name: str, question: str) -> list[str]:
    got = hz.client.post(f"/v1/collections/{name}/retrieve", json={"question": question},
                         headers=hz.h(f"reader_{name}"))
    assert got.status_code == 200, got.text
    return [p["text"] for p in got.json()["passages"]]


def _entities(hz: Harness, name: str, q: str) -> list[dict[str, Any]]:
    got = hz.client.get(f"/v1/collections/{name}/entities", params={"q": q}, headers=hz.h(f"reader_{name}"))
    assert got.status_code == 200, got.text
    return list(got.json())


def test_collections_share_neo4j_and_weaviate_apart(server_harness: Harness) -> None:
    hz, c, admin = server_harness, server_harness.client, server_harness.h("admin")
    for name in ("beta", "alpha"):
        assert c.post("/v1/collections", json={"name": name}, headers=admin).status_code == 201
    _ingest(hz, "beta", BETA_DOCS)
    _ingest(hz, "alpha", ALPHA_DOCS)
    hz.wait_ready()
    beta = c.get("/v1/collections/beta", headers=admin).json()
    alpha = c.get("/v1/collections/alpha", headers=admin).json()
    assert (beta["documents"], alpha["documents"]) == (3, 2), (beta, alpha)

    # each collection sees its own documents and entities only
    assert any("Orvane" in t for t in _passages(hz, "beta", "Who founded Orvane Mining?"))
    assert not any("Brekke" in t for t in _passages(hz, "beta", "Who founded Brekke Shipping?"))
    assert any("Brekke" in t for t in _passages(hz, "alpha", "Who founded Brekke Shipping?"))
    assert not any("Skarn Deep is an iron mine" in t for t in _passages(hz, "alpha", "Which mine employs 900 miners?"))
    assert _entities(hz, "beta", "Halvard Brekke") == []
    listed = c.get("/v1/collections/beta/documents", headers=hz.h("reader_beta")).json()
    assert sorted(d["title"] for d in listed["items"]) == sorted(d["title"] for d in BETA_DOCS)
    answer = c.post("/v1/collections/beta/query", json={"question": "Who founded Brekke Shipping?", "extractive": True},
                    headers=hz.h("reader_beta"))
    assert answer.status_code == 200, answer.text
    assert not any("Brekke" in p["text"] for p in answer.json()["retrieval"]["passages"])
    assert answer.json()["supported"] is False  # beta's passages name no Brekke: no answer, not a guess
    orvane_b, orvane_a = _entities(hz, "beta", "Orvane Mining"), _entities(hz, "alpha", "Orvane Mining")
    assert orvane_a[0]["id"] == orvane_b[0]["id"]  # the same id, in two separate graphs

    # curating one collection leaves the other as it was
    orvane = orvane_b[0]["id"]
    patched = c.patch(f"/v1/collections/beta/entities/{orvane}", json={"name": "Orvane Mining AB"},
                      headers=hz.h("curator_beta"))
    assert patched.status_code == 202, patched.text
    assert hz.wait_job("beta", patched.json()["job"]["id"])["state"] == "succeeded"
    assert c.get(f"/v1/collections/beta/entities/{orvane}", headers=hz.h("reader_beta")).json()["name"] == \
        "Orvane Mining AB"
    assert c.get(f"/v1/collections/alpha/entities/{orvane}", headers=hz.h("reader_alpha")).json()["name"] == \
        "Orvane Mining"

    # deleting beta drops its graph, vectors and Neo4j schema; alpha keeps everything
    label_prefix = collections.neo4j_label_prefix(hz.settings, "beta")
    assert _schema_names(hz.settings, label_prefix)
    assert c.delete("/v1/collections/beta", headers=admin).status_code == 204
    assert _schema_names(hz.settings, label_prefix) == []
    assert c.get("/v1/collections/alpha", headers=admin).json() == alpha
    assert any("Orvane" in t for t in _passages(hz, "alpha", "Who founded Orvane Mining?"))
    assert c.post("/v1/collections", json={"name": "beta"}, headers=admin).status_code == 201
    fresh = c.get("/v1/collections/beta", headers=admin).json()
    assert fresh["documents"] == 0 and fresh["entities"] == 0, fresh
    assert _passages(hz, "beta", "Who founded Orvane Mining?") == []
