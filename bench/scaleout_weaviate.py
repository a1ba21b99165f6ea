"""Scale-out benchmark, the Weaviate part: hopgraph's vector store on a 3-node cluster (replication factor 3,
QUORUM reads and writes; ``deploy/services.sh start weaviate-cluster`` in a directory of its own), against the
one-node server of ``deploy/services.sh start`` (same binary; ``. .services/env`` first), and a failover drill.

``--docs`` documents of two 384-dimension chunks are written, then ``--seconds`` of vector searches (top 5)
run on ``--concurrency`` threads, one more thread writing a document at a time. One JSON object per
configuration: ``nodes``, ``searches``, ``search_errors``, ``qps``, ``p50_ms``, ``p95_ms``, ``p99_ms``,
``writes_per_s``, ``write_errors``. ``failover``: the same load on the cluster, the node in use SIGKILLed a
third of the way in: ``search_errors``, ``write_errors``, ``max_ms`` (the slowest search: the one the kill
caught), ``recover_s`` (from the kill to the first search that completed after it), ``unseen_during_outage``
(acknowledged documents a QUORUM read by id does not find while the node is down), ``converge_s`` (from the
node's restart until every node holds the same objects, as many as were acknowledged at least) and ``lost``
(acknowledged documents a QUORUM read by id does not find after that). ``ratio_cluster_over_one`` compares
the search QPS.

    python bench/scaleout_weaviate.py [--docs 2000] [--seconds 15] [--concurrency 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadrun import pct, run_for  # noqa: E402
from core.errors import StoreError  # noqa: E402
from core.settings import Settings  # noqa: E402
from graph.weaviate.nodes import open_nodes, replication_of  # noqa: E402
from graph.weaviate.vector_store import WeaviateVectorStore  # noqa: E402
from tests.contract.cluster import DIM, WeaviateCluster, bundle, converged, missing  # noqa: E402


def _load(store: WeaviateVectorStore, seconds: float, concurrency: int, kill: Any = None) -> dict[str, Any]:
    stop = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    finished: list[float] = []
    errors = {"search": 0, "write": 0}
    messages: list[str] = []
    acknowledged: list[str] = []

    def search(seed: int) -> None:
        rng = np.random.default_rng(seed)
        while not stop.is_set():
            t = time.perf_counter()
            try:
                store.search_chunks(rng.normal(size=DIM).astype(np.float32), 5)
            except StoreError as exc:
                with lock:
                    errors["search"] += 1
                    messages.append(str(exc)[:300])
                continue
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)
                finished.append(time.perf_counter())

    def write() -> None:
        rng = np.random.default_rng(99)
        n = 0
        while not stop.is_set():
            doc = bundle(f"w{os.getpid()}-{n:05d}", rng)
            n += 1
            try:
                store.write_documents([doc])
                acknowledged.append(doc.document.id)
            except StoreError as exc:
                with lock:
                    errors["write"] += 1
                    messages.append(str(exc)[:300])

    threads = [threading.Thread(target=search, args=(i,)) for i in range(concurrency)]
    threads.append(threading.Thread(target=write))
    wall, killed_at = run_for(threads, stop, seconds, kill)
    latencies.sort()
    out: dict[str, Any] = {"searches": len(latencies), "search_errors": errors["search"],
                           "qps": round(len(latencies) / wall, 1), "p50_ms": pct(latencies, 0.5),
                           "p95_ms": pct(latencies, 0.95), "p99_ms": pct(latencies, 0.99),
                           "writes_per_s": round(len(acknowledged) / wall, 1), "write_errors": errors["write"],
                           "acknowledged": acknowledged, "first_errors": messages[:3]}
    if killed_at is not None:
        after = [f for f in finished if f > killed_at]
        out.update({"max_ms": round(latencies[-1], 1) if latencies else None,
                    "recover_s": round(min(after) - killed_at, 2) if after else None})
    return out


def _fill(store: WeaviateVectorStore, docs: int) -> list[str]:
    rng = np.random.default_rng(1)
    bundles = [bundle(f"d{i:05d}", rng) for i in range(docs)]
    for i in range(0, docs, 200):
        store.write_documents(bundles[i:i + 200])
    return [b.document.id for b in bundles]


def run(docs: int, seconds: float, concurrency: int) -> dict[str, Any]:
    """Start a one-node and a 3-node Weaviate, measure both and the failover drill."""
    with tempfile.TemporaryDirectory(prefix="hopgraph-scaleout-weaviate-") as tmp:
        cluster = WeaviateCluster(Path(tmp))
        try:
            cluster.start()
            settings = Settings(data_dir=Path(tmp) / "data", store_timeout_s=10.0,
                                **cluster.overrides)  # type: ignore[arg-type]
            # the one-node server of deploy/services.sh start (its settings from the HOPGRAPH_* environment)
            single = Settings(data_dir=Path(tmp) / "data", store_timeout_s=10.0)
            results: dict[str, Any] = {}
            store = WeaviateVectorStore(open_nodes(settings), "BenchCluster", replication=replication_of(settings))
            one = WeaviateVectorStore(open_nodes(single), "BenchOne", replication=replication_of(single))
            try:
                _fill(one, docs)
                results["weaviate_1_node"] = {"nodes": 1, "replication_factor": 1, **_load(one, seconds, concurrency)}
                initial = _fill(store, docs)
                results["weaviate_3_nodes"] = {"nodes": 3, "replication_factor": 3, "consistency": "QUORUM",
                                               **_load(store, seconds, concurrency)}
                victim = cluster.node_of(int(store._nodes.node.rsplit(":", 1)[1]))
                failover = _load(store, seconds, concurrency, kill=lambda: cluster.kill(victim))
                acked = set(initial) | set(failover["acknowledged"]) | set(results["weaviate_3_nodes"]["acknowledged"])
                failover["unseen_during_outage"] = len(missing(store, acked))
                t0 = time.perf_counter()
                cluster.start()
                failover["restart_s"] = round(time.perf_counter() - t0, 1)
                counts: dict[str, int] = {}
                while time.perf_counter() - t0 < 300:
                    counts = cluster.counts([store.chunk_collection])
                    if converged(counts, 2 * len(acked)):
                        break
                    time.sleep(0.5)
                failover["converge_s"] = round(time.perf_counter() - t0, 1)
                failover["lost"] = len(missing(store, acked))
                failover["counts"] = counts
                results["failover"] = {"nodes": 3, "killed": f"node {victim} (the one in use)", **failover}
            finally:
                store.drop_collections()
                store.close()
                one.drop_collections()
                one.close()
        finally:
            cluster.stop()
    for value in results.values():
        value.pop("acknowledged", None)
    one_qps, three_qps = results["weaviate_1_node"]["qps"], results["weaviate_3_nodes"]["qps"]
    results["ratio_cluster_over_one"] = round(three_qps / one_qps, 2) if one_qps else None
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scaleout_weaviate.json")
    args = parser.parse_args()
    result = {**run(args.docs, args.seconds, args.concurrency), "docs": args.docs, "concurrency": args.concurrency,
              "cpus": os.cpu_count()}
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
