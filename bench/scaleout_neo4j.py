"""Scale-out benchmark, the Neo4j part: Neo4j restarted (``deploy/services.sh stop neo4j``, then ``start``)
under a steady load on a real ``hopgraph serve`` on Neo4j + Weaviate (the servers of ``deploy/services.sh``;
``. .services/env`` first).

Two client threads: one asks ``/retrieve``, one the entity search (which reads Neo4j). One JSON object:
``requests``, ``ok`` (200), ``unavailable`` (503, each with ``Retry-After``: ``without_retry_after`` counts
those without), ``other`` (any other answer), ``max_ms`` (the slowest answer), ``p50_ms`` of the 503s,
``outage_s`` (from the stop to the end of the start) and ``recover_s`` (from the end of the start to the
first entity search answered 200).

    python bench/scaleout_neo4j.py [--model-cache DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.contract.cluster import free_block  # noqa: E402

SERVICES = ROOT / "deploy" / "services.sh"
CORPUS = ROOT / "tests" / "fixtures" / "musique" / "corpus.json"


def _services(action: str) -> None:
    done = subprocess.run(["bash", str(SERVICES), action, "neo4j"], capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"deploy/services.sh {action} neo4j failed:\n{done.stderr[-2000:]}")


def run(model_cache: Path, tmp: Path) -> dict[str, Any]:
    port = free_block(1)
    prefix = "B" + uuid.uuid4().hex[:10]
    env = {**os.environ, "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_LLM_MODEL": "fast",
           "HOPGRAPH_GRAPH_STORE": "neo4j", "HOPGRAPH_VECTOR_STORE": "weaviate", "HOPGRAPH_API_AUTH": "false",
           "HOPGRAPH_API_RATE_PER_S": "0", "HOPGRAPH_WEAVIATE_COLLECTION_PREFIX": prefix,
           "HOPGRAPH_NEO4J_LABEL_PREFIX": prefix, "HOPGRAPH_STORE_TIMEOUT_S": "5"}
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "--data-dir", str(tmp / "data"), "serve", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=120)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the server did not start: see {tmp / 'server.log'}")
            time.sleep(0.5)
        client.post("/v1/collections", json={"name": "alpha"}).raise_for_status()
        docs = [{"id": f"p{i}", "title": p["title"], "text": p["text"]}
                for i, p in enumerate(json.loads(CORPUS.read_text())[:40])]
        job = client.post("/v1/collections/alpha/documents", json={"documents": docs}).json()["id"]
        while client.get(f"/v1/collections/alpha/jobs/{job}").json()["state"] not in ("succeeded", "failed"):
            time.sleep(0.5)
        seen: list[tuple[str, int, float, bool, float]] = []
        stop = threading.Event()
        lock = threading.Lock()

        def load(method: str, path: str, body: object) -> None:
            with httpx.Client(base_url=url, timeout=120) as own:
                while not stop.is_set():
                    t = time.monotonic()
                    res = own.request(method, path, json=body)
                    with lock:
                        seen.append((path, res.status_code, time.monotonic() - t, "retry-after" in res.headers,
                                     time.monotonic()))
                    time.sleep(0.05)

        threads = [threading.Thread(target=load, args=("POST", "/v1/collections/alpha/retrieve",
                                                       {"question": docs[0]["title"]})),
                   threading.Thread(target=load, args=("GET", f"/v1/collections/alpha/entities?q={docs[0]['title']}",
                                                       None))]
        for th in threads:
            th.start()
        time.sleep(3.0)
        stopped_at = time.monotonic()
        _services("stop")
        time.sleep(3.0)
        _services("start")
        started_at = time.monotonic()
        deadline = started_at + 120
        while time.monotonic() < deadline and not any(
                "entities" in p and s == 200 and at > started_at for p, s, _, _, at in list(seen)):
            time.sleep(0.2)
        time.sleep(2.0)
        stop.set()
        for th in threads:
            th.join(timeout=120)
        after = [at for p, s, _, _, at in seen if "entities" in p and s == 200 and at > started_at]
        unavailable = sorted(e * 1000 for _, s, e, _, _ in seen if s == 503)
        client.delete("/v1/collections/alpha")
        return {"requests": len(seen), "ok": sum(s == 200 for _, s, _, _, _ in seen), "unavailable": len(unavailable),
                "without_retry_after": sum(s == 503 and not r for _, s, _, r, _ in seen),
                "other": sum(s not in (200, 503) for _, s, _, _, _ in seen),
                "max_ms": round(max(e for _, _, e, _, _ in seen) * 1000, 1),
                "p50_ms_503": round(unavailable[len(unavailable) // 2], 1) if unavailable else None,
                "outage_s": round(started_at - stopped_at, 1),
                "recover_s": round(min(after) - started_at, 2) if after else None}
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scaleout_neo4j.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hopgraph-scaleout-neo4j-") as tmp:
        result = {"neo4j_restart": run(args.model_cache, Path(tmp)), "cpus": os.cpu_count()}
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
