"""Embedding migration benchmark: MuSiQue's collection moves to a second embedder while clients query it.

A real ``hopgraph serve`` holds the MuSiQue corpus in collection ``musique`` (ingested on first use, kept in
--data-dir). The second embedder is the packaged all-MiniLM-L6-v2 re-exported (float16-rounded weights: another
file, another vector space; see ``inference/reexport.py``), so the benchmark runs offline. --clients threads
post ``/retrieve`` (hybrid, k=5) one request at a time for --before seconds, then all through
``hopgraph models migrate-embeddings`` (gated on the first --golden questions), and a few seconds after it
switched. Prints one JSON object: ``migrate_s``, ``passages_per_s`` (chunks re-embedded per second of the
migration), ``queries``, ``errors``, ``p99_ms_before``, ``p99_ms_during`` (plus p50s, the answering models seen and
the gate table), and writes it to --out. Afterwards the collection is rolled back and the new space pruned, so
the next run starts from the same state.

Usage: python bench/migrate.py [--clients 2] [--before 20] [--profile embedded|server] [--data-dir DIR]
                               [--model-cache DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import DATA, _admin_key, _free_port, _percentile, _start, _wait_ready, ensure_musique  # noqa: E402
from inference.reexport import reexport  # noqa: E402
from inference.registry import resolve_embedding_model  # noqa: E402


class Clients:
    """Threads posting /retrieve; each sample is (start time, seconds, ok, embedding model)."""

    def __init__(self, url: str, key: str, questions: list[str], n: int) -> None:
        self.samples: list[tuple[float, float, bool, str]] = []
        self.stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(url, key, questions, i), daemon=True)
                         for i in range(n)]

    def _run(self, url: str, key: str, questions: list[str], offset: int) -> None:
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        i = offset
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                res = client.post("/v1/collections/musique/retrieve",
                                  json={"question": questions[i % len(questions)], "mode": "hybrid", "k": 5})
                ok = res.status_code == 200
                model = res.json().get("embedding_model", "") if ok else ""
            except httpx.HTTPError:
                ok, model = False, ""
            self.samples.append((t0, time.monotonic() - t0, ok, model))
            i += len(self._threads)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(120)

    def window(self, start: float, end: float) -> list[tuple[float, float, bool, str]]:
        return [s for s in self.samples if start <= s[0] < end]


def _cli(args: argparse.Namespace, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "--data-dir", str(args.data_dir), *command], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=3600, check=False)


def main() -> None:
    """Run the benchmark and print its JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--before", type=float, default=20.0, help="seconds of load before the migration")
    parser.add_argument("--golden", type=int, default=20, help="MuSiQue questions the gate evaluates")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--migrate-threads", type=int, default=1,
                        help="CPU threads of the migration's embedder (1 leaves a core of two to the queries)")
    parser.add_argument("--profile", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--corpus", type=Path, default=DATA / "musique" / "corpus.json")
    parser.add_argument("--questions", type=Path, default=DATA / "musique" / "questions.json")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "migrate.json")
    args = parser.parse_args()
    suffix = "-server" if args.profile == "server" else ""
    args.data_dir = (args.data_dir or Path(tempfile.gettempdir()) / f"hopgraph-migrate{suffix}").resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    second = reexport(resolve_embedding_model("all-MiniLM-L6-v2"), args.data_dir / "minilm-fp16")
    questions = [q["question"] for q in json.loads(args.questions.read_text())]
    key = _admin_key(args.data_dir)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(args, port)
    env = dict(os.environ)
    env.update({"HOPGRAPH_MODEL_CACHE_DIR": str(args.model_cache), "HOPGRAPH_THREADS": str(args.migrate_threads)})
    if args.profile == "server":
        env.update({"HOPGRAPH_GRAPH_STORE": "neo4j", "HOPGRAPH_VECTOR_STORE": "weaviate"})
    try:
        _wait_ready(url, proc)
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        ensure_musique(admin, args.corpus)
        for q in questions[:3]:  # warm the graph index and the models
            admin.post("/v1/collections/musique/retrieve", json={"question": q})
        golden = args.data_dir / "golden.json"
        golden.write_text(json.dumps(json.loads(args.questions.read_text())[: args.golden]))
        clients = Clients(url, key, questions, args.clients)
        clients.start()
        t_before = time.monotonic()
        time.sleep(args.before)
        t_start = time.monotonic()
        done = _cli(args, env, "models", "migrate-embeddings", str(second), "--collection", "musique",
                    "--golden", str(golden))
        t_end = time.monotonic()
        time.sleep(8)  # the server switches within a few seconds: keep querying across the switch
        clients.join()
        rolled = _cli(args, env, "models", "rollback", "embedder", "--collection", "musique")
        pruned = _cli(args, env, "models", "prune-embeddings", "--collection", "musique")
    finally:
        proc.terminate()
        proc.wait(60)
    if done.returncode != 0:
        raise SystemExit(f"migration failed ({done.returncode}): {done.stdout}\n{done.stderr[-3000:]}")
    before = clients.window(t_before, t_start)
    during = clients.window(t_start, t_end)
    after = clients.window(t_end, float("inf"))
    chunks = re.search(r"(\d+) chunk\(s\)", done.stdout)
    migrate_s = round(t_end - t_start, 1)
    result = {
        "profile": args.profile, "clients": args.clients, "workers": args.workers,
        "migrate_threads": args.migrate_threads,
        "migrate_s": migrate_s,
        "passages_per_s": round(int(chunks.group(1)) / migrate_s, 1) if chunks else None,
        "queries": len(before) + len(during) + len(after),
        "queries_during": len(during),
        "errors": sum(not s[2] for s in clients.samples),
        "p50_ms_before": round(_percentile([s[1] * 1000 for s in before], 0.5), 1),
        "p99_ms_before": round(_percentile([s[1] * 1000 for s in before], 0.99), 1),
        "p50_ms_during": round(_percentile([s[1] * 1000 for s in during], 0.5), 1),
        "p99_ms_during": round(_percentile([s[1] * 1000 for s in during], 0.99), 1),
        "models_seen_after": sorted({s[3] for s in after}),
        "migration_output": done.stdout.strip().splitlines(),
        "rolled_back": rolled.returncode == 0, "pruned": pruned.returncode == 0,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
