"""Two API replicas behind HAProxy (deploy/replicas.sh), their state in PostgreSQL: one replica is SIGKILLed,
with its ingest worker, under a steady retrieval load and while it runs an ingest job. Clients see no error
beyond a retry of their requests in flight; the other replica takes the job over when its lease runs out and
the job ends exactly once, every document in the store once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import MUSIQUE, ROOT
from tests.contract.cluster import free_block
from tests.contract.test_server_db import postgres_url  # noqa: F401 - fixture
from tests.e2e.snapshot import check_consistency

SCRIPT = ROOT / "deploy" / "replicas.sh"
LEASE_S = 4.0
pytestmark = pytest.mark.slow


@pytest.fixture
def replicas(tmp_path: Path, model_cache: Path, postgres_url: str) -> Iterator[tuple[str, dict[str, str]]]:  # noqa: F811
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    base = free_block(3)
    env = {**os.environ, "HOPGRAPH_SERVICES_DIR": str(tmp_path / "run"), "HOPGRAPH_DATA_DIR": str(tmp_path / "data"),
           "HOPGRAPH_SERVER_DB_URL": url, "HOPGRAPH_API_AUTH": "false", "HOPGRAPH_API_JOB_LEASE_S": str(LEASE_S),
           "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_LLM_MODEL": "fast", "HOPGRAPH_THREADS": "1",
           "HOPGRAPH_GRAPH_STORE": "embedded", "HOPGRAPH_VECTOR_STORE": "embedded",
           "HOPGRAPH_API_RATE_PER_S": "0", "HOPGRAPH_API_PORT": str(base), "HOPGRAPH_REPLICA_PORT": str(base + 1)}
    try:
        started = subprocess.run(["bash", str(SCRIPT), "start", "2"], env=env, capture_output=True, text=True,
                                 timeout=400, check=False)
        assert started.returncode == 0, started.stderr[-3000:]
        yield f"http://127.0.0.1:{base}", env
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=180, check=False)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _retrieve(client: httpx.Client) -> tuple[int, int]:
    """One retrieval, retried once when the replica serving it died under it: (status, attempts)."""
    for attempt in (1, 2):
        try:
            res = client.post("/v1/collections/alpha/retrieve", json={"question": "Who founded Orvane Mining?"})
        except httpx.TransportError:
            if attempt == 2:
                raise
            continue
        if res.status_code in (502, 503) and attempt == 1:
            continue
        return res.status_code, attempt
    raise AssertionError("unreachable")


def test_replica_killed_under_load(replicas: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    lb, env = replicas
    client = httpx.Client(base_url=lb, timeout=120)
    assert client.post("/v1/collections", json={"name": "alpha"}).status_code == 201
    corpus = json.loads((MUSIQUE / "corpus.json").read_text())[:240]
    docs = [{"id": f"p{i}", "title": p["title"], "text": p["text"]} for i, p in enumerate(corpus)]
    first = client.post("/v1/collections/alpha/documents", json={"documents": docs[:20]})
    assert first.status_code == 202, first.text
    deadline = time.monotonic() + 240
    while client.get(f"/v1/collections/alpha/jobs/{first.json()['id']}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.3)

    stop = threading.Event()
    outcomes: list[tuple[int, int]] = []
    failures: list[str] = []

    def load() -> None:
        with httpx.Client(base_url=lb, timeout=120) as own:
            while not stop.is_set():
                try:
                    outcomes.append(_retrieve(own))
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    job = client.post("/v1/collections/alpha/documents", json={"documents": docs[20:]}).json()["id"]
    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        owner = ""
        deadline = time.monotonic() + 120
        while not owner:  # the job is running: find its replica (the worker's parent process)
            with psycopg.connect(env["HOPGRAPH_SERVER_DB_URL"]) as conn:
                row = conn.execute("SELECT lease_owner, done FROM jobs WHERE id=%s AND state='running'",
                                   (job,)).fetchone()
            owner = str(row[0]) if row and row[0] and row[1] > 0 else ""
            assert time.monotonic() < deadline, "the job never ran"
            time.sleep(0.2)
        worker = int(owner.split(":")[1])
        replica = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.killpg(replica, signal.SIGKILL)  # the replica, its ingest worker and that worker's children
        killed_at = time.monotonic()
        deadline = time.monotonic() + 240
        state: dict[str, object] = {}
        while state.get("state") not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
            try:
                res = client.get(f"/v1/collections/alpha/jobs/{job}")
            except httpx.TransportError:
                continue  # a request in flight on the dead replica
            if res.status_code == 200:
                state = res.json()
        took_over = time.monotonic() - killed_at
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)

    assert failures == [], failures[:5]
    assert outcomes and all(status == 200 for status, _ in outcomes), [o for o in outcomes if o[0] != 200][:5]
    retried = sum(attempts == 2 for _, attempts in outcomes)
    assert retried <= 4, retried  # at most the requests in flight on the dead replica
    assert state["state"] == "succeeded" and state["attempts"] == 2, state
    with psycopg.connect(env["HOPGRAPH_SERVER_DB_URL"]) as conn:
        row = conn.execute("SELECT lease_owner FROM jobs WHERE id=%s", (job,)).fetchone()
    assert row is not None and row[0] != owner  # finished by the other replica
    counts = check_consistency(Path(env["HOPGRAPH_DATA_DIR"]) / "collections" / "alpha" / "hopgraph.db")
    assert counts["documents"] == len(docs), counts  # every document once, nothing half-written
    print(f"replica killed: {len(outcomes)} retrievals, {retried} retried once, job taken over and done "
          f"{took_over:.1f} s after the kill")
