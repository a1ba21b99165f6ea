"""Backup and restore benchmark: the MuSiQue and 2Wiki collections of a real ``hopgraph serve``, backed up while
clients query them, then restored beside them.

The server holds collections ``musique`` and ``twowiki`` in --data-dir (ingested through the API on first use on
the embedded profile; on the server profile, restored from the embedded run's backups in --seed, the migration
path from one box to the servers). For each: --clients threads post ``/retrieve`` (hybrid, k=5) one request at a
time for --before seconds, then ``hopgraph backup --collection C`` runs under the same load; then ``hopgraph
restore --as C-restored`` runs (no load) and the restored copy is deleted. Each collection is backed up
--repeat times in a row (backup_s: the median, measured inside the CLI; the p99 "during" pools the queries that
started while a backup ran). Prints one JSON object per collection and profile: ``backup_s``, ``restore_s``,
``bytes``, ``documents``, ``p99_ms_before``, ``p99_ms_during`` (plus p50s, queries, errors) and writes them as a
JSON list to --out.

Usage: python bench/backup.py [--profile embedded|server] [--clients 2] [--before 10] [--data-dir DIR]
                              [--seed DIR] [--model-cache DIR] [--out FILE]
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import DATA, _admin_key, _free_port, _ingest, _job, _percentile, _start, _wait_ready  # noqa: E402

SETS = {"musique": DATA / "musique", "twowiki": DATA / "2wiki"}


class Clients:
    """Threads posting /retrieve to one collection; each sample is (start time, seconds, ok)."""

    def __init__(self, url: str, key: str, collection: str, questions: list[str], n: int) -> None:
        self.samples: list[tuple[float, float, bool]] = []
        self.stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(url, key, collection, questions, i), daemon=True)
                         for i in range(n)]
        for t in self._threads:
            t.start()

    def _run(self, url: str, key: str, collection: str, questions: list[str], offset: int) -> None:
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        i = offset
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                ok = client.post(f"/v1/collections/{collection}/retrieve",
                                 json={"question": questions[i % len(questions)], "mode": "hybrid", "k": 5}
                                 ).status_code == 200
            except httpx.HTTPError:
                ok = False
            self.samples.append((t0, time.monotonic() - t0, ok))
            i += len(self._threads)

    def join(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(120)

    def window(self, start: float, end: float) -> list[tuple[float, float, bool]]:
        return [s for s in self.samples if start <= s[0] < end]


def _cli(args: argparse.Namespace, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "api.cli", "--data-dir", str(args.data_dir), *command], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}\n{done.stderr[-3000:]}")
    return done


def _ms(samples: list[tuple[float, float, bool]], q: float) -> float | None:
    return round(_percentile([s[1] * 1000 for s in samples], q / 100), 1) if samples else None


def _ensure(admin: httpx.Client, args: argparse.Namespace, env: dict[str, str], name: str) -> None:
    """The collection, ingested (embedded) or restored from the seed backups (server profile)."""
    if admin.get(f"/v1/collections/{name}").status_code == 200:
        return
    if args.seed is not None:
        seeds = sorted(p for p in (args.seed / name).glob("hb-*") if (p / "stores" / f"c-{name}").is_dir())
        if not seeds:
            raise SystemExit(f"no backup of {name} in {args.seed}: run the embedded profile first")
        _cli(args, env, "restore", str(seeds[-1]), "--collection", name)
        return
    job = _ingest(admin, name, SETS[name] / "corpus.json", fresh=False)
    while (state := _job(admin, name, job)["state"]) not in ("succeeded", "failed", "cancelled"):
        time.sleep(2)
    if state != "succeeded":
        raise SystemExit(f"ingest of {name} {state}")


def main() -> None:
    """Run the benchmark and print its JSON objects."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--before", type=float, default=10.0, help="seconds of load before each backup")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--repeat", type=int, default=5, help="backups per collection (backup_s: their median)")
    parser.add_argument("--sets", default="musique,twowiki")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seed", type=Path, default=None,
                        help="backups to restore missing collections from (default on the server profile: the "
                             "embedded run's)")
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    base = Path(tempfile.gettempdir())
    args.data_dir = (args.data_dir or base / f"hopgraph-backup-bench-{args.profile}").resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.profile == "server" and args.seed is None:
        args.seed = base / "hopgraph-backup-bench-embedded" / "bench-backups"
    out = args.out or ROOT / "bench" / "results" / f"backup_{args.profile}.json"
    backups = args.data_dir / "bench-backups"
    env = {**os.environ, "HOPGRAPH_MODEL_CACHE_DIR": str(args.model_cache)}
    if args.profile == "server":
        env.update({"HOPGRAPH_GRAPH_STORE": "neo4j", "HOPGRAPH_VECTOR_STORE": "weaviate"})
    key = _admin_key(args.data_dir)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(args, port)
    results = []
    try:
        _wait_ready(url, proc)
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
            _ensure(admin, args, env, name)
            # the load: MuSiQue's questions (2Wiki ships no questions here), asked of either collection
            questions = [q["question"] for q in json.loads((SETS["musique"] / "questions.json").read_text())]
            for q in questions[:3]:  # warm the graph index and the models
                admin.post(f"/v1/collections/{name}/retrieve", json={"question": q})
            clients = Clients(url, key, name, questions, args.clients)
            t_before = time.monotonic()
            time.sleep(args.before)
            t_cli = time.monotonic()
            windows, seconds = [], []
            for _ in range(args.repeat):  # a backup lasts seconds: several give the p99 during it some samples
                taken = _cli(args, env, "backup", "--collection", name, "--to", str(backups / name), "--json",
                             "--keep", "1")
                t_end = time.monotonic()
                manifest = json.loads(taken.stdout)
                seconds.append(float(manifest["elapsed_s"]))
                windows.append((t_end - seconds[-1], t_end))  # the backup itself, not the CLI's start
            clients.join()
            restored = _cli(args, env, "restore", str(backups / name / manifest["id"]), "--collection", name, "--as",
                            f"{name}-restored")
            restore_s = float(restored.stdout.rsplit(" in ", 1)[1].split()[0])
            admin.delete(f"/v1/collections/{name}-restored")
            before = clients.window(t_before, t_cli)
            during = [s for start, end in windows for s in clients.window(start, end)]
            row = {"set": name, "profile": args.profile, "documents": manifest["entries"][f"c-{name}"]["counts"][
                "documents"], "backup_s": round(sorted(seconds)[len(seconds) // 2], 2), "backups": len(seconds),
                "restore_s": round(restore_s, 2),
                "bytes": sum(int(f["bytes"]) for f in manifest["files"].values()),
                "p50_ms_before": _ms(before, 50), "p99_ms_before": _ms(before, 99),
                "p50_ms_during": _ms(during, 50), "p99_ms_during": _ms(during, 99),
                "queries_during": len(during), "errors": sum(1 for s in clients.samples if not s[2]),
                "clients": args.clients}
            print(json.dumps(row), flush=True)
            results.append(row)
    finally:
        proc.terminate()
        proc.wait(60)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
