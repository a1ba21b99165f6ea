"""Ingest benchmark: fresh store, one corpus at a time, one JSON object per corpus.

Usage: python bench/ingest.py [--corpus PATH ...] [--profile embedded|server|both]
                              [--out FILE] [--embedding-backend onnx-int8|torch]

Keys: passages, seconds, passages_per_s, entities, relations, chunks, rejected,
peak_rss_mb, stages (seconds per stage: read, nlp, embed, write; embed overlaps nlp),
profile (graph/vector store).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profiles import server_overrides  # noqa: E402
from core.settings import load_settings  # noqa: E402
from graph.store import drop_server_data  # noqa: E402
from service.context import AppContext  # noqa: E402

DEFAULT_CORPORA = [
    ROOT.parent / "shared" / "data" / "musique" / "corpus.json",
    ROOT.parent / "shared" / "data" / "2wiki" / "corpus.json",
]


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_corpus(corpus: Path, args: argparse.Namespace, profile: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hopgraph-bench-") as tmp:
        overrides: dict[str, object] = {"data_dir": Path(tmp), "model_cache_dir": args.model_cache}
        if profile == "server":
            overrides.update(server_overrides())
        if args.embedding_backend:
            overrides["embedding_backend"] = args.embedding_backend
        if args.threads:
            overrides["threads"] = args.threads
        settings = load_settings(None, **overrides)
        app = AppContext(settings)
        t0 = time.perf_counter()
        app.embedder  # noqa: B018 - load models before timing, as a running service would
        app.nlp  # noqa: B018
        load_s = time.perf_counter() - t0
        try:
            report = app.pipeline().run([corpus])
        finally:
            app.close()
            if profile == "server":
                drop_server_data(settings)
    return {
        "corpus": str(corpus),
        "profile": f"{settings.graph_store}+{settings.vector_store}",
        "passages": report.documents,
        "seconds": round(report.seconds, 2),
        "passages_per_s": round(report.documents / report.seconds, 1) if report.seconds else None,
        "chunks": report.chunks,
        "entities": report.entities,
        "relations": report.relations,
        "rejected": report.rejected,
        "failures": len(report.failures),
        "model_load_s": round(load_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_mb_nlp_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1),
        "stages": {k: round(v, 2) for k, v in report.stages.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, action="append",
                        help="corpus file (repeatable); default: MuSiQue and 2Wiki")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json", help="JSON output file")
    parser.add_argument("--profile", choices=["embedded", "server", "both"], default="embedded",
                        help="server: Neo4j + Weaviate from the HOPGRAPH_* settings (source .services/env)")
    parser.add_argument("--embedding-backend", choices=["onnx-int8", "torch"], help="override the embedding backend")
    parser.add_argument("--threads", type=int, help="CPU threads for the models")
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache",
                        help="where derived model files (the ONNX export) are kept between runs")
    args = parser.parse_args()
    results = []
    profiles = ["embedded", "server"] if args.profile == "both" else [args.profile]
    for corpus in args.corpus or DEFAULT_CORPORA:
        for profile in profiles:
            result = bench_corpus(corpus, args, profile)
            print(json.dumps(result), flush=True)
            results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
