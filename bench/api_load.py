"""HTTP API load benchmark: N concurrent clients on loopback against a real ``hopgraph serve``.

The server holds the MuSiQue corpus in collection ``musique`` (ingested through the
API on first use, kept in --data-dir for later runs). While the load runs, the 2Wiki
corpus is ingested into a fresh collection ``twowiki`` by the server's ingest worker.
Two phases of --duration seconds each: ``/retrieve`` (hybrid, k=5), then extractive
``/query``; each client cycles through the MuSiQue questions, one request at a time, a
new connection per request unless --keepalive (a few long-lived connections can pile up
on one of the server processes). Prints one JSON object per endpoint: endpoint, qps,
p50_ms, p95_ms, p99_ms, errors (plus requests, clients, workers, keepalive, the server's CPU
seconds and cores used during the phase, and the documents the background ingest committed
during it; --no-ingest runs no background ingest), and writes them as a JSON
list to --out (default bench/results/api_load.json).

Usage: python bench/api_load.py [--clients 4] [--duration 20] [--workers 2] [--keepalive] [--profile server]
                                [--no-ingest]
                                [--data-dir DIR] [--model-cache DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from service.keys import KeyStore  # noqa: E402
from service.serverdb import ServerDB, server_db_path  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_key(data_dir: Path) -> str:
    db = ServerDB(server_db_path(data_dir))
    try:
        return KeyStore(db).create("admin", [], "api-load-bench")[1]
    finally:
        db.close()


def _start(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    stores = ("neo4j", "weaviate") if args.profile == "server" else ("embedded", "embedded")
    env = {**os.environ, "HOPGRAPH_API_RATE_PER_S": "0", "HOPGRAPH_GRAPH_STORE": stores[0],
           "HOPGRAPH_VECTOR_STORE": stores[1]}
    if args.model_cache:
        env["HOPGRAPH_MODEL_CACHE_DIR"] = str(args.model_cache)
    log = (args.data_dir / "server.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--data-dir", str(args.data_dir), "serve", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (a graceful shutdown), SIGKILL after two minutes."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see server.log")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("server not ready in time")


def _job(client: httpx.Client, collection: str, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = client.get(f"/v1/collections/{collection}/jobs/{job_id}").json()
    return job


def _cancel_all(client: httpx.Client, collection: str) -> None:
    """Cancel the collection's unfinished jobs and wait until none runs."""
    res = client.get(f"/v1/collections/{collection}/jobs", params={"limit": 500})
    if res.status_code != 200:
        return
    for job in res.json():
        if job["state"] in ("queued", "running", "interrupted"):
            client.delete(f"/v1/collections/{collection}/jobs/{job['id']}")
            while _job(client, collection, job["id"])["state"] == "running":
                time.sleep(0.5)


def _ingest(client: httpx.Client, collection: str, corpus: Path, fresh: bool) -> str:
    """Queue an ingest of ``corpus`` into ``collection`` (recreated when ``fresh``); returns the job id."""
    if fresh:
        _cancel_all(client, collection)
        client.delete(f"/v1/collections/{collection}")
    client.post("/v1/collections", json={"name": collection})
    res = client.post(f"/v1/collections/{collection}/documents",
                      files=[("files", (corpus.name, corpus.read_bytes(), "application/json"))])
    res.raise_for_status()
    return str(res.json()["id"])


def ensure_musique(admin: httpx.Client, corpus: Path) -> None:
    """Ingest ``corpus`` into collection ``musique`` unless a previous run left it there; wait for the job."""
    stats = admin.get("/v1/collections/musique")
    if stats.status_code != 200 or stats.json()["documents"] < 1000:
        job = _ingest(admin, "musique", corpus, fresh=False)
        while _job(admin, "musique", job)["state"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(2)


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(times.get(pid, 0.0) for pid in tree)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _phase(url: str, key: str, path: str, body: dict[str, Any], questions: list[str], clients: int,
                 duration: float, keepalive: bool) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def client(i: int) -> None:
        nonlocal errors
        # without keep-alive each request is a new connection, which the least busy server process accepts;
        # a few long-lived connections can pile up on one process
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1 if keepalive else 0)
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                                     limits=limits) as c:
            n = i
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    res = await c.post(path, json={**body, "question": questions[n % len(questions)]})
                    ok = res.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - started) * 1000.0)
                else:
                    errors += 1
                n += clients

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    return {"qps": round(len(latencies) / elapsed, 1), "p50_ms": round(_percentile(latencies, 0.50), 1),
            "p95_ms": round(_percentile(latencies, 0.95), 1), "p99_ms": round(_percentile(latencies, 0.99), 1),
            "errors": errors, "requests": len(latencies) + errors}


def main() -> None:
    """Run the benchmark and print one JSON object per endpoint."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--keepalive", action="store_true", help="reuse each client's connection")
    parser.add_argument("--profile", choices=["embedded", "server"], default="embedded",
                        help="server: collections on Neo4j + Weaviate from the HOPGRAPH_* settings "
                             "(source .services/env)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="server data directory; the MuSiQue collection is kept there between runs "
                             "(default: hopgraph-api-load[-server] in the temporary directory)")
    parser.add_argument("--model-cache", type=Path, default=None, help="shared ONNX export cache")
    parser.add_argument("--corpus", type=Path, default=DATA / "musique" / "corpus.json")
    parser.add_argument("--questions", type=Path, default=DATA / "musique" / "questions.json")
    parser.add_argument("--ingest-corpus", type=Path, default=DATA / "2wiki" / "corpus.json")
    parser.add_argument("--no-ingest", action="store_true",
                        help="no background ingest: the server's CPU is the load's alone (checks hopgraph capacity)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_load.json",
                        help="JSON output file (a list of the printed objects)")
    args = parser.parse_args()
    if args.data_dir is None:  # one per profile: a collection's stores are those of the settings it was made with
        suffix = "-server" if args.profile == "server" else ""
        args.data_dir = Path(tempfile.gettempdir()) / f"hopgraph-api-load{suffix}"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    args.data_dir = args.data_dir.resolve()
    questions = [q["question"] for q in json.loads(args.questions.read_text())]
    key = _admin_key(args.data_dir)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(args, port)
    try:
        _wait_ready(url, proc)
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        ensure_musique(admin, args.corpus)
        for _ in range(3):  # warm the graph index and the models
            admin.post("/v1/collections/musique/query", json={"question": questions[0], "extractive": True})
        background = None if args.no_ingest else _ingest(admin, "twowiki", args.ingest_corpus, fresh=True)
        # time the load only once the background job is committing documents (past its start-up)
        warmup_deadline = time.monotonic() + 300
        while background is not None and _job(admin, "twowiki", background)["progress"]["done"] == 0:
            if time.monotonic() > warmup_deadline:
                raise SystemExit("background ingest committed nothing in 300 s")
            time.sleep(0.2)
        idle = {"progress": {"done": 0, "total": 0}, "state": "none"}
        phases = [("/retrieve", {"mode": "hybrid", "k": 5}), ("/query", {"extractive": True, "k": 5})]
        rows: list[dict[str, Any]] = []
        for endpoint, body in phases:
            before = _job(admin, "twowiki", background) if background else idle
            cpu_before, wall_before = _tree_cpu_s(proc.pid), time.perf_counter()
            result = asyncio.run(_phase(url, key, f"/v1/collections/musique{endpoint}", body, questions,
                                        args.clients, args.duration, args.keepalive))
            server_cpu = _tree_cpu_s(proc.pid) - cpu_before
            after = _job(admin, "twowiki", background) if background else idle
            row = {"endpoint": endpoint, "profile": args.profile, **result, "clients": args.clients,
                   "server_cpu_s": round(server_cpu, 2),
                   "server_cores_used": round(server_cpu / (time.perf_counter() - wall_before), 2),
                   "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, result["requests"]), 1),
                   "workers": args.workers,
                   "keepalive": args.keepalive, "ingest_state": after["state"],
                   "ingested_during": after["progress"]["done"] - before["progress"]["done"],
                   "ingest_total": after["progress"]["total"]}
            print(json.dumps(row), flush=True)
            rows.append(row)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
        if background is not None:
            _cancel_all(admin, "twowiki")  # so that it does not resume at the next start
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
