"""Scale-out benchmark, the API part: 1 and 2 ``hopgraph serve`` replicas behind HAProxy
(``deploy/replicas.sh``), their state in PostgreSQL (a fresh database on the server of
``deploy/services.sh start postgres``; ``. .services/env`` first), the MuSiQue fixture corpus (335
passages) in one collection on the embedded store of their shared data directory.

For each replica count: ``--seconds`` of ``/retrieve`` (hybrid, k=5) by ``--clients`` threads, then
``--queries`` LLM answers (``/query``, the fast reader, streamed off) by the same threads. Each replica
runs with ``--threads`` threads (1: two replicas on this 2-core box divide its cores, as a deployment
would). ``failover``: the ``/retrieve`` load on 2 replicas, one SIGKILLed a third of the way in; a
request that fails at the connection (the replica died under it) is sent once more, as a client would.
One JSON object per
configuration: ``replicas``, ``endpoint``, ``requests``, ``errors`` (after that one retry), ``retried``,
``qps``, ``p50_ms``, ``p95_ms``, ``p99_ms``; the failover also ``recover_s`` (from the kill to the first
request answered after it) and ``max_ms``. ``ratio_2_over_1`` compares the QPS per endpoint.

    python bench/scaleout_api.py [--clients 4] [--seconds 15] [--queries 16] [--threads 1] [--model-cache DIR]
                                 [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadrun import pct, run_for  # noqa: E402
from tests.contract.cluster import free_block  # noqa: E402

SCRIPT = ROOT / "deploy" / "replicas.sh"
CORPUS = ROOT / "tests" / "fixtures" / "musique" / "corpus.json"
QUESTIONS = ROOT / "tests" / "fixtures" / "musique" / "questions.json"


def _one(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[bool, bool]:
    """(answered, retried): a request that fails at the connection is sent once more."""
    for attempt in (1, 2):
        try:
            res = client.post(path, json=body)
        except httpx.TransportError:
            continue
        if res.status_code in (502, 503) and attempt == 1:
            continue
        return res.status_code == 200, attempt == 2
    return False, True


def _load(lb: str, path: str, questions: list[str], clients: int, *, seconds: float | None = None,
          count: int | None = None, body: dict[str, Any] | None = None, kill: Any = None) -> dict[str, Any]:
    lock = threading.Lock()
    latencies: list[float] = []
    finished: list[float] = []
    errors = retried = issued = 0
    stop = threading.Event()

    def worker(offset: int) -> None:
        nonlocal errors, retried, issued
        with httpx.Client(base_url=lb, timeout=300) as client:
            i = offset
            while not stop.is_set():
                with lock:
                    if count is not None and issued >= count:
                        return
                    issued += 1
                t = time.perf_counter()
                ok, again = _one(client, path, {"question": questions[i % len(questions)], **(body or {})})
                i += clients
                with lock:
                    retried += again
                    if ok:
                        latencies.append((time.perf_counter() - t) * 1000)
                        finished.append(time.perf_counter())
                    else:
                        errors += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    if seconds is not None:
        wall, killed_at = run_for(threads, stop, seconds, kill)
    else:  # ``count`` requests: the threads stop by themselves
        started = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall, killed_at = time.perf_counter() - started, None
    latencies.sort()
    out: dict[str, Any] = {"endpoint": path.rsplit("/", 1)[1], "requests": len(latencies) + errors, "errors": errors,
                           "retried": retried, "qps": round(len(latencies) / wall, 2), "p50_ms": pct(latencies, 0.5),
                           "p95_ms": pct(latencies, 0.95), "p99_ms": pct(latencies, 0.99)}
    if killed_at is not None:
        after = [f for f in finished if f > killed_at]
        out.update({"recover_s": round(min(after) - killed_at, 3) if after else None,
                    "max_ms": round(latencies[-1], 1) if latencies else None})
    return out


def _replicas(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"deploy/replicas.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def run(args: argparse.Namespace, tmp: Path, db_url: str) -> dict[str, Any]:
    base = free_block(3)
    env = {**os.environ, "HOPGRAPH_SERVICES_DIR": str(tmp / "run"), "HOPGRAPH_DATA_DIR": str(tmp / "data"),
           "HOPGRAPH_SERVER_DB_URL": db_url, "HOPGRAPH_API_AUTH": "false", "HOPGRAPH_API_RATE_PER_S": "0",
           "HOPGRAPH_MODEL_CACHE_DIR": str(args.model_cache), "HOPGRAPH_LLM_MODEL": "fast",
           "HOPGRAPH_LLM_MAX_TOKENS": "24", "HOPGRAPH_GRAPH_STORE": "embedded", "HOPGRAPH_VECTOR_STORE": "embedded",
           "HOPGRAPH_THREADS": str(args.threads),
           "HOPGRAPH_API_PORT": str(base), "HOPGRAPH_REPLICA_PORT": str(base + 1)}
    lb = f"http://127.0.0.1:{base}"
    questions = [q["question"] for q in json.loads(QUESTIONS.read_text())]
    corpus = json.loads(CORPUS.read_text())
    docs = [{"id": f"p{i}", "title": p["title"], "text": p["text"]} for i, p in enumerate(corpus)]
    retrieve, query = "/v1/collections/musique/retrieve", "/v1/collections/musique/query"
    results: dict[str, Any] = {}
    try:
        _replicas(env, "start", "1")
        with httpx.Client(base_url=lb, timeout=300) as client:
            client.post("/v1/collections", json={"name": "musique"}).raise_for_status()
            job = client.post("/v1/collections/musique/documents", json={"documents": docs}).json()["id"]
            while client.get(f"/v1/collections/musique/jobs/{job}").json()["state"] not in ("succeeded", "failed"):
                time.sleep(0.5)
            for path, body in ((retrieve, {}), (query, {"k": 3})):  # warm-up, not timed
                client.post(path, json={"question": questions[0], **body}).raise_for_status()
        for n in (1, 2):
            if n == 2:
                _replicas(env, "start", "2")
                with httpx.Client(base_url=lb, timeout=300) as client:  # round robin: each replica warmed up
                    for path, body in ((retrieve, {}), (retrieve, {}), (query, {"k": 3}), (query, {"k": 3})):
                        client.post(path, json={"question": questions[1], **body}).raise_for_status()
            results[f"retrieve_{n}"] = {"replicas": n, **_load(lb, retrieve, questions, args.clients,
                                                                seconds=args.seconds)}
            results[f"query_{n}"] = {"replicas": n, **_load(lb, query, questions, args.clients, count=args.queries,
                                                             body={"k": 3})}
        victim = int((tmp / "run" / "run" / f"replica-{base + 2}.pid").read_text())
        results["failover"] = {"replicas": 2, "killed": "replica 2 (SIGKILL, with its ingest worker)",
                               **_load(lb, retrieve, questions, args.clients, seconds=args.seconds,
                                       kill=lambda: os.killpg(victim, signal.SIGKILL))}
    finally:
        _replicas(env, "stop")
    for endpoint in ("retrieve", "query"):
        one, two = results[f"{endpoint}_1"]["qps"], results[f"{endpoint}_2"]["qps"]
        results[f"ratio_2_over_1_{endpoint}"] = round(two / one, 2) if one else None
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--queries", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of each replica (its reader's): replicas on one box divide its cores")
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scaleout_api.json")
    args = parser.parse_args()
    admin_url = os.environ.get("HOPGRAPH_POSTGRES_URL")
    if not admin_url:
        raise SystemExit("HOPGRAPH_POSTGRES_URL is not set: bash deploy/services.sh start postgres; . .services/env")
    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="hopgraph-scaleout-api-") as tmp:
            result = {**run(args, Path(tmp), admin_url.rsplit("/", 1)[0] + "/" + name), "clients": args.clients,
                      "threads_per_replica": args.threads, "cpus": os.cpu_count()}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
