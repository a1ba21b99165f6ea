"""A key of one collection never receives a document, entity, passage or answer of another.

Every collection-scoped route the app has is tried, with ids that exist in the
other collection: the answer is 403 or 404, never data.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.routes import HTTPRoute

from tests.api.conftest import BETA_DOCS, BETA_MARKERS, Harness

_PARAM = re.compile(r"\{(\w+):\w+\}")


def _beta_ids(harness: Harness) -> dict[str, str]:
    c, h = harness.client, harness.h("reader_beta")
    entity = c.get("/v1/collections/beta/entities", params={"q": "Orvane Mining"}, headers=h).json()[0]["id"]
    other = c.get("/v1/collections/beta/entities", params={"q": "Petra Lindqvist"}, headers=h).json()[0]["id"]
    queue = c.get("/v1/collections/beta/review", params={"status": "pending"}, headers=harness.h("admin")).json()
    item = queue["items"][0]["id"] if queue["items"] else "no-item"
    return {"c": "beta", "doc_id": harness.ids["beta_docs"][0], "entity_id": entity, "job_id": harness.ids["beta_job"],
            "from": entity, "to": other, "key": f"edit:{entity}", "number": "1", "item_id": item}


def _request(harness: Harness, method: str, path: str, ids: dict[str, str], key: str) -> Any:
    url = _PARAM.sub(lambda m: ids[m.group(1)], path)
    params = {"q": "Orvane Mining", "from": ids["from"], "to": ids["to"]}
    body: dict[str, Any] | None = None
    if method == "POST":  # valid bodies, so that only the key decides
        body = {"question": "Who founded Orvane Mining?", "extractive": True}
        if url.endswith("/documents"):
            body = {"documents": BETA_DOCS[:1]}
        elif url.endswith("/merge"):
            body = {"sources": [ids["to"]], "target": ids["from"]}
        elif url.endswith("/split"):
            body = {"name": "Orvane Two", "surfaces": ["Orvane Mining"]}
    elif method == "PATCH":
        body = {"name": "Orvane Renamed"}
    return harness.client.request(method, url, params=params, json=body, headers=harness.h(key))


def _collection_routes(harness: Harness) -> list[tuple[str, str]]:
    found = []
    for route in harness.client.app.routes:
        if isinstance(route, HTTPRoute) and "{c:" in route.path:
            found += [(m, route.path) for m in sorted(route.methods) if m not in ("HEAD", "OPTIONS")]
    return found


def test_every_collection_route_refuses_a_key_of_another_collection(harness: Harness) -> None:
    ids = _beta_ids(harness)
    routes = _collection_routes(harness)
    assert len(routes) >= 20  # documents x4, jobs x3, retrieve, query, entities x2, paths, audit, collection x2,
    # ontology x2, entity edit, merge, split, curation list and revert
    assert ("PATCH", "/v1/collections/{c:str}/entities/{entity_id:str}") in routes
    for key in ("reader_alpha", "editor_alpha", "curator_alpha"):
        for method, path in routes:
            res = _request(harness, method, path, ids, key)
            assert res.status_code in (403, 404), (key, method, path, res.status_code, res.text)
            assert res.headers["content-type"].startswith("application/problem+json")
            for marker in (*BETA_MARKERS, *harness.ids["beta_docs"]):
                assert marker not in res.text, (key, method, path, marker)
    # the same requests with a beta key do reach data (so the ids above were real)
    assert _request(harness, "GET", "/v1/collections/{c:str}/documents/{doc_id:str}", ids, "reader_beta"
                    ).status_code == 200


def test_ids_of_another_collection_are_not_found_in_ones_own(harness: Harness) -> None:
    ids = {**_beta_ids(harness), "c": "alpha"}
    for path in ("/v1/collections/{c:str}/documents/{doc_id:str}", "/v1/collections/{c:str}/jobs/{job_id:str}",
                 "/v1/collections/{c:str}/entities/{entity_id:str}", "/v1/collections/{c:str}/paths"):
        res = _request(harness, "GET", path, ids, "reader_alpha")
        assert res.status_code == 404, (path, res.text)
        assert not any(m in res.text for m in BETA_MARKERS)
    h = harness.h("reader_alpha")
    for mode in ("dense", "keyword", "graph", "hybrid"):
        got = harness.client.post("/v1/collections/alpha/query", headers=h, json={
            "question": "Who founded Orvane Mining in Kiruna?", "mode": mode, "extractive": True, "k": 10}).json()
        passages = [p["title"] + p["text"] for p in got["retrieval"]["passages"]]
        assert passages, mode
        evidence = " ".join([got["answer"], *passages])  # (the echoed question itself names Orvane)
        assert not any(m in evidence for m in BETA_MARKERS), mode
    assert harness.client.get("/v1/collections/alpha/entities", params={"q": "Orvane Mining"}, headers=h).json() == []


def test_collection_listing_shows_only_the_keys_collections(harness: Harness) -> None:
    names = [c["name"] for c in harness.client.get("/v1/collections", headers=harness.h("reader_alpha")).json()]
    assert names == ["alpha"]
    assert harness.client.get("/v1/collections/beta", headers=harness.h("reader_alpha")).status_code == 404
    admin = [c["name"] for c in harness.client.get("/v1/collections", headers=harness.h("admin")).json()]
    assert {"alpha", "beta"} <= set(admin)
