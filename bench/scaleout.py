"""Scale-out benchmark. The inference pool part (here): the reader on 1 and on 2 OpenAI-compatible llama.cpp
servers (deploy/inference.sh, one thread each), and a failover drill.

For each configuration, ``--requests`` answers of a retrieval-sized prompt (numbered passages, a question,
a short answer) are sent by ``--concurrency`` client threads through :class:`inference.remote_llm.RemoteLLM`;
printed and written to ``--out`` as one JSON object per configuration: ``endpoints``, ``requests``,
``errors``, ``qps``, ``p50_ms``, ``p95_ms``, ``p99_ms``. ``failover``: the same load on two servers, one
SIGKILLed after a third of the requests: ``errors`` (answers that failed), ``retried`` (requests the pool
moved to the other server), ``recover_s`` (from the kill to the first answer completed after it) and
``max_ms`` (the slowest answer, the one the kill interrupted). ``ratio_2_over_1`` compares the QPS.

    python bench/scaleout.py [--part all|inference|weaviate|api|neo4j] [--requests 24] [--concurrency 2]
                             [--reader fast] [--out FILE]

``--part`` (default ``all``) also runs, each in a process of its own, with its own defaults, and puts its JSON
under its name: ``weaviate`` (bench/scaleout_weaviate.py: a 3-node cluster, replication 3, a node killed),
``api`` (bench/scaleout_api.py: /retrieve and /query on 1 and 2 API replicas behind HAProxy, a replica
killed) and ``neo4j`` (bench/scaleout_neo4j.py: Neo4j restarted under load). They need the servers of
``deploy/services.sh start`` and ``. .services/env``.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadrun import pct  # noqa: E402
from inference.remote_llm import EndpointPool, RemoteLLM  # noqa: E402

PASSAGES = "\n".join(f"[{n}] Passage {n}: " + " ".join(f"word{n}{i}" for i in range(40)) for n in range(1, 5))


def chat(i: int) -> list[dict[str, str]]:
    """A retrieval-sized prompt; the question differs per request (the passages' prefix is reused, as in use)."""
    return [{"role": "system", "content": "You answer questions from the numbered passages with a short answer."},
            {"role": "user", "content": f"Passages:\n{PASSAGES}\n[5] Baltia Lines: Ilse Marnik founded Baltia "
                                        f"Lines in {1900 + i}.\n\nQuestion: Who founded Baltia Lines, and in "
                                        f"which year (request {i})?\nAnswer:"}]


def _servers(run: Path, port: int, reader: str, model_cache: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "HOPGRAPH_SERVICES_DIR": str(run), "HOPGRAPH_INFERENCE_PORT": str(port),
           "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_DATA_DIR": str(run / "data")}
    done = subprocess.run(["bash", str(ROOT / "deploy" / "inference.sh"), "start", "2", reader], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"deploy/inference.sh start failed:\n{done.stderr}")
    line = next(x for x in (run / "inference.env").read_text().splitlines() if "LLM_ENDPOINTS=" in x)
    return line.split("=", 1)[1].split(","), env


def _load(urls: list[str], requests: int, concurrency: int,
          kill_after: int | None = None, kill: Any = None) -> dict[str, Any]:
    llm = RemoteLLM(EndpointPool(urls, cooldown_s=60), max_tokens=24, timeout_s=30)
    lock = threading.Lock()
    latencies: list[float] = []
    finished: list[float] = []
    errors = 0
    issued = 0
    killed_at: list[float] = []

    def worker() -> None:
        nonlocal errors, issued
        while True:
            with lock:
                if issued >= requests:
                    return
                issued += 1
                number = issued
                if kill_after is not None and issued == kill_after + 1 and not killed_at:
                    kill()
                    killed_at.append(time.perf_counter())
            t = time.perf_counter()
            try:
                "".join(llm.stream_chat(chat(number)))
            except Exception:  # noqa: BLE001 - a benchmark counts every failure, whatever it is
                with lock:
                    errors += 1
                continue
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)
                finished.append(time.perf_counter())

    for i in range(len(urls)):  # each server evaluates the system prompt and passages once (KV cache), not timed
        "".join(llm.stream_chat(chat(-1 - i)))
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    latencies.sort()
    state = llm.pool.snapshot()
    llm.close()

    out: dict[str, Any] = {"endpoints": len(urls), "requests": requests, "errors": errors,
                           "qps": round(len(latencies) / wall, 2), "p50_ms": pct(latencies, 0.5),
                           "p95_ms": pct(latencies, 0.95), "p99_ms": pct(latencies, 0.99)}
    if killed_at:
        after = [f for f in finished if f > killed_at[0]]
        out.update({"retried": sum(s.failures for s in state),
                    "recover_s": round(min(after) - killed_at[0], 2) if after else None,
                    "max_ms": round(latencies[-1], 1) if latencies else None})
    return out


PARTS = {"weaviate": "scaleout_weaviate.py", "api": "scaleout_api.py", "neo4j": "scaleout_neo4j.py"}


def _part(name: str, model_cache: Path, tmp: Path) -> Any:
    """Run another part's program; its JSON."""
    out = tmp / f"{name}.json"
    args = [sys.executable, str(ROOT / "bench" / PARTS[name]), "--out", str(out)]
    if name != "weaviate":
        args += ["--model-cache", str(model_cache)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench/{PARTS[name]} failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "inference", *PARTS], default="all")
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--reader", default="fast")
    parser.add_argument("--port", type=int, default=8191)
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scaleout.json")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    if args.part in ("all", "inference"):
        result["inference"] = _inference(args)
    with tempfile.TemporaryDirectory(prefix="hopgraph-scaleout-parts-") as tmp:
        for name in PARTS:
            if args.part in ("all", name):
                result[name] = _part(name, args.model_cache, Path(tmp))
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


def _inference(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hopgraph-scaleout-") as tmp:
        run = Path(tmp)
        urls, env = _servers(run, args.port, args.reader, args.model_cache)
        try:
            one = _load(urls[:1], args.requests, args.concurrency)
            two = _load(urls, args.requests, args.concurrency)
            pid = int((run / "run" / f"inference-{args.port}.pid").read_text())
            failover = _load(urls, args.requests, args.concurrency, kill_after=args.requests // 3,
                             kill=lambda: os.kill(pid, signal.SIGKILL))
        finally:
            subprocess.run(["bash", str(ROOT / "deploy" / "inference.sh"), "stop"], env=env, capture_output=True,
                           timeout=120)
    return {"inference_1": one, "inference_2": two, "failover": failover,
            "ratio_2_over_1": round(two["qps"] / one["qps"], 2) if one["qps"] else None,
            "reader": args.reader, "concurrency": args.concurrency, "cpus": os.cpu_count()}


if __name__ == "__main__":
    main()
