"""Neo4j restarted under load, behind a real ``hopgraph serve`` (Neo4j + Weaviate, over HTTP on loopback).

Two clients keep asking (retrieval, and the entity search that reads Neo4j) while Neo4j is stopped and
started again by deploy/services.sh: every answer is a 200 or a 503 with Retry-After, none hangs, and once
Neo4j is back every request succeeds again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import BETA_DOCS
from tests.api.test_server_e2e import _env, _serve, _wait
from tests.contract.conftest import neo4j_available, unique_prefix, weaviate_available  # noqa: F401 - fixtures
from tests.contract.test_faults import services

pytestmark = pytest.mark.slow

TIMEOUT_S = 5.0  # store_timeout_s of the server: no request may take much longer


def test_neo4j_restart_under_load(tmp_path: Path, model_cache: Path, neo4j_available: None,  # noqa: F811
                                  weaviate_available: None) -> None:  # noqa: F811
    prefix = unique_prefix()
    env = {**_env(model_cache), "HOPGRAPH_GRAPH_STORE": "neo4j", "HOPGRAPH_VECTOR_STORE": "weaviate",
           "HOPGRAPH_API_AUTH": "false", "HOPGRAPH_WEAVIATE_COLLECTION_PREFIX": prefix,
           "HOPGRAPH_NEO4J_LABEL_PREFIX": prefix, "HOPGRAPH_STORE_TIMEOUT_S": str(TIMEOUT_S)}
    with _serve(tmp_path / "data", env) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        assert client.post("/v1/collections", json={"name": "alpha"}).status_code == 201
        job = client.post("/v1/collections/alpha/documents", json={"documents": BETA_DOCS})
        assert _wait(client, "alpha", job.json()["id"])["state"] == "succeeded"
        requests = [("POST", "/v1/collections/alpha/retrieve", {"question": "Who founded Orvane Mining?"}),
                    ("GET", "/v1/collections/alpha/entities?q=Orvane", None)]
        for method, path, body in requests:
            assert client.request(method, path, json=body).status_code == 200

        stop = threading.Event()
        seen: list[tuple[str, int, float, str | None]] = []
        lock = threading.Lock()

        def load(method: str, path: str, body: object) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as own:
                while not stop.is_set():
                    t0 = time.monotonic()
                    res = own.request(method, path, json=body)
                    with lock:
                        seen.append((path, res.status_code, time.monotonic() - t0, res.headers.get("retry-after")))
                    time.sleep(0.05)

        threads = [threading.Thread(target=load, args=r) for r in requests]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            services("stop", "neo4j")
            time.sleep(3.0)  # requests during the outage
            down = len(seen)
            services("start", "neo4j")
        finally:
            services("start", "neo4j")  # no-op when it is running
            time.sleep(2.0)
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a request hung"

        statuses = {status for _, status, _, _ in seen}
        assert statuses <= {200, 503}, [s for s in seen if s[1] not in (200, 503)][:5]
        assert all(retry for _, status, _, retry in seen if status == 503), "a 503 without Retry-After"
        assert any(status == 503 for path, status, _, _ in seen[:down] if "entities" in path), \
            "the outage was not seen (no 503 on the Neo4j read)"
        slowest = max(elapsed for _, _, elapsed, _ in seen)
        print(f"neo4j restart under load: {len(seen)} requests, {sum(s[1] == 503 for s in seen)} answered 503, "
              f"slowest {slowest:.2f} s")
        assert slowest < 3 * TIMEOUT_S + 5, f"a request took {slowest:.1f} s"

        # Neo4j is back: every request succeeds again (within a short reconnection)
        deadline = time.monotonic() + 60
        while client.get("/v1/collections/alpha/entities", params={"q": "Orvane"}).status_code != 200:
            assert time.monotonic() < deadline, "no recovery after the restart"
            time.sleep(0.5)
        for _ in range(5):
            for method, path, body in requests:
                res = client.request(method, path, json=body)
                assert res.status_code == 200, res.text
        assert client.delete("/v1/collections/alpha").status_code in (200, 204)
