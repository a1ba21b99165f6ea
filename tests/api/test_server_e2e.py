"""The API end to end: a real ``hopgraph serve`` process over HTTP on loopback (ingest worker in its own
process), keys made with the CLI, graceful shutdown on SIGTERM."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import BETA_DOCS, BETA_MARKERS, QUESTION, sample_files
from tests.conftest import ROOT, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server process."""

    process: subprocess.Popen[str]
    url: str
    data: Path
    env: dict[str, str]
    log: Path


def _env(model_cache: Path) -> dict[str, str]:
    return {**os.environ, "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_GRAPH_STORE": "embedded",
            "HOPGRAPH_VECTOR_STORE": "embedded", "HOPGRAPH_THREADS": "2", "HOPGRAPH_LLM_MAX_TOKENS": "24",
            "HOPGRAPH_LLM_MODEL": "fast"}


@contextmanager
def _serve(data: Path, env: dict[str, str], *args: str) -> Iterator[Server]:
    """``hopgraph serve`` on a free loopback port, ready (``/readyz`` 200) when entered; killed on exit."""
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = data.parent / f"server-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "--data-dir", str(data), "serve", "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    srv = Server(proc, f"http://127.0.0.1:{port}", data, env, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{srv.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server not ready: {log.read_text()[-3000:]}"
            time.sleep(0.3)
        yield srv
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Server]:
    with _serve(tmp_path_factory.mktemp("served") / "data", _env(model_cache)) as srv:
        yield srv


def _cli_key(server: Server, *args: str) -> str:
    res = run_cli("keys", "create", *args, data_dir=server.data, env=server.env, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def _wait(client: httpx.Client, collection: str, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, object] = client.get(f"/v1/collections/{collection}/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def test_served_api_end_to_end(server: Server) -> None:
    admin_key = _cli_key(server, "--role", "admin")
    admin = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=120)
    for name in ("alpha", "beta"):
        assert admin.post("/v1/collections", json={"name": name}).status_code == 201
    editor_key = admin.post("/v1/keys", json={"role": "editor", "collections": ["alpha"]}).json()["key"]
    beta_key = _cli_key(server, "--role", "reader", "--collections", "beta", "--name", "beta-reader")
    editor = httpx.Client(base_url=server.url, headers={"X-API-Key": editor_key}, timeout=120)
    beta = httpx.Client(base_url=server.url, headers={"X-API-Key": beta_key}, timeout=120)

    # ingest: files into alpha, JSON into beta (by the admin); poll the jobs
    up = editor.post("/v1/collections/alpha/documents", files=sample_files())
    assert up.status_code == 202, up.text
    assert (server.data / "collections" / "alpha" / "files" / "tampere.txt").is_file()  # stored before the 202
    js = admin.post("/v1/collections/beta/documents", json={"documents": BETA_DOCS})
    job = _wait(editor, "alpha", up.json()["id"])
    assert job["state"] == "succeeded" and job["report"]["documents"] == 8  # type: ignore[index]
    assert _wait(admin, "beta", js.json()["id"])["state"] == "succeeded"

    # questions: extractive, then streamed from the LLM
    ans = editor.post("/v1/collections/alpha/query", json={"question": QUESTION, "extractive": True}).json()
    assert ans["supported"] and ans["citations"] and "Orvane" not in json.dumps(ans["retrieval"]["passages"])
    events: list[str] = []
    with editor.stream("POST", "/v1/collections/alpha/query",
                       json={"question": "Who owns Baltia Lines?", "k": 2, "stream": True}) as res:
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
        for line in res.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
    assert events[-1] == "answer" and "token" in events

    # isolation and auth failures
    for path in ("/v1/collections/alpha/documents", f"/v1/collections/alpha/jobs/{up.json()['id']}"):
        res = beta.get(path)
        assert res.status_code == 404 and res.headers["content-type"].startswith("application/problem+json")
    res = beta.post("/v1/collections/alpha/retrieve", json={"question": QUESTION})
    assert res.status_code == 404 and "Corvel" not in res.text
    beta_hits = beta.post("/v1/collections/beta/retrieve", json={"question": "Who founded Orvane Mining?"}).json()
    assert any(m in p["text"] for p in beta_hits["passages"] for m in BETA_MARKERS)
    assert httpx.get(f"{server.url}/v1/collections/alpha/documents").status_code == 401
    assert beta.post("/v1/collections/beta/documents", json={"documents": BETA_DOCS}).status_code == 403

    # delete a document
    doc_id = job["documents"][0]  # type: ignore[index]
    assert editor.delete(f"/v1/collections/alpha/documents/{doc_id}").status_code == 200
    assert editor.get(f"/v1/collections/alpha/documents/{doc_id}").status_code == 404

    # keys listed and revoked with the CLI take effect in the running server
    listed = run_cli("keys", "list", data_dir=server.data, env=server.env, timeout=120)
    assert "beta-reader" in listed.stdout and beta_key not in listed.stdout
    key_id = next(line.split()[0] for line in listed.stdout.splitlines() if "beta-reader" in line)
    assert run_cli("keys", "revoke", key_id, data_dir=server.data, env=server.env, timeout=120).returncode == 0
    deadline = time.monotonic() + 10
    while beta.get("/v1/collections/beta/documents").status_code != 401:
        assert time.monotonic() < deadline, "revoked key still accepted"
        time.sleep(0.5)

    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'hopgraph_ingest_documents_total{collection="alpha"} 8' in metrics

    # graceful shutdown: SIGTERM ends the server (uvicorn exits by re-raising the signal) and its ingest worker
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(60) in (0, -signal.SIGTERM), server.log.read_text()[-3000:]
    assert "Application shutdown complete" in server.log.read_text()
    with (server.data / "ingest.lock").open("a+b") as lock:  # no ingest worker holds its lock any more
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_rate_limit_and_metrics_span_worker_processes(tmp_path: Path, model_cache: Path) -> None:
    """With ``--workers 2`` a key still gets its configured burst, not one per process (the buckets are
    shared through DATA_DIR/ratelimit.bin), and ``/metrics`` from either worker counts every request.
    Each request opens a new connection, so both processes serve."""
    data = tmp_path / "data"
    env = {**_env(model_cache), "HOPGRAPH_API_RATE_PER_S": "0.01", "HOPGRAPH_API_RATE_BURST": "6",
           "HOPGRAPH_API_PRELOAD_MODELS": "false"}
    res = run_cli("keys", "create", "--role", "admin", data_dir=data, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    key = res.stdout.strip()
    with _serve(data, env, "--workers", "2") as srv:
        codes = [httpx.get(f"{srv.url}/v1/collections", headers={"Authorization": f"Bearer {key}"},
                           timeout=30).status_code for _ in range(20)]
        assert codes == [200] * 6 + [429] * 14, codes
        last = httpx.get(f"{srv.url}/v1/collections", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
        assert last.headers["content-type"].startswith("application/problem+json")
        assert (data / "ratelimit.bin").stat().st_size > 0
        time.sleep(2.5)  # each worker publishes its counts within a second
        for _ in range(4):  # a new connection each: whichever worker answers reports the whole server
            text = httpx.get(f"{srv.url}/metrics", timeout=30).text
            assert 'hopgraph_http_requests_total{method="GET",route="/v1/collections",status="200"} 6\n' in text
            assert 'hopgraph_http_requests_total{method="GET",route="/v1/collections",status="429"} 15\n' in text
