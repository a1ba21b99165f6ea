"""Scale benchmark: how ingest and retrieval cost grow with the corpus, and one large file.

Usage: python bench/scale.py [--sizes 10000,30000,100000] [--profile embedded|server|both] [--out FILE]
                             [--questions 100] [--large-file-mb 15] [--skip-sizes]

Corpus of N passages: MuSiQue's 1,890 and 2Wiki's 6,119 passages (so MuSiQue's gold passages are inside and its
recall is measured), then as many rewritten copies of the 2Wiki passages as needed. A copy rewrites every
capitalised word of three letters or more (names, places, titles) into a pseudo-word made of syllables chosen by a
hash of the word and the copy's number, the same within a copy: each copy is a parallel world whose entities are
new, connected as the originals were, so the graph grows as a real corpus's would instead of repeating the same
nodes. MuSiQue's passages are not copied: a renamed copy of each of its gold passages would be a near-duplicate
distractor of every question, which a real corpus does not hold one for one.

Each size and profile runs in its own process (so ``peak_rss_mb`` is its own) on a fresh store and prints one
JSON object: ``passages``, ``ingest_s``, ``passages_per_s``, ``peak_rss_mb``, ``disk_mb`` (embedded),
``graph_index_build_s``, per mode ``p50_ms``, ``p95_ms`` and ``recall@5`` over MuSiQue's first ``--questions``
questions, ``freshness_s`` (a new document ingested until a query finds it) and ``ingest_incremental_s``
(100 more documents, ingested and visible). ``--large-file-mb``: one plain-text file of that size with no
sentence ends (passages joined, full stops removed), ingested into a fresh store: ``large_file_s``, its
``words_per_s`` next to the corpus's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profiles import server_overrides  # noqa: E402
from core.settings import load_settings  # noqa: E402
from graph.store import drop_server_data  # noqa: E402
from retrieval.evaluation import load_questions, recall_at  # noqa: E402
from retrieval.types import MODES  # noqa: E402
from service.context import AppContext  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SOURCES = [DATA / "musique" / "corpus.json", DATA / "2wiki" / "corpus.json"]
QUESTIONS = DATA / "musique" / "questions.json"
SYLLABLES = ["ka", "lo", "mer", "vin", "tas", "ru", "den", "pol", "si", "mar", "ten", "ob", "ul", "ran", "sto",
             "bel", "ni", "gar", "fen", "do", "ha", "lin", "qua", "zer", "mo", "tri", "ves", "ak", "ely", "nor"]
_NAME = re.compile(r"\b[A-Z][a-zA-Z]{2,}\b")


def _pseudo(word: str, copy: int) -> str:
    digest = hashlib.blake2b(f"{copy}:{word}".encode(), digest_size=8).digest()
    parts = [SYLLABLES[b % len(SYLLABLES)] for b in digest[: 2 + digest[7] % 2]]
    return "".join(parts).capitalize()


def rewrite(passage: dict[str, str], copy: int) -> dict[str, str]:
    """``passage`` in copy ``copy``'s world: every capitalised word renamed consistently."""
    def sub(text: str) -> str:
        return _NAME.sub(lambda m: _pseudo(m.group(0), copy), text)

    return {"title": sub(passage["title"]), "text": sub(passage["text"])}


def originals() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for path in SOURCES:
        out.extend(json.loads(path.read_text()))
    return out


def build_corpus(size: int, path: Path) -> int:
    """Write a corpus of ``size`` passages to ``path``; its number of passages."""
    base = originals()
    passages = list(base[:size])
    growth = json.loads(SOURCES[1].read_text())  # 2Wiki's passages
    copy = 1
    while len(passages) < size:
        passages.extend(rewrite(p, copy) for p in growth[: size - len(passages)])
        copy += 1
    path.write_text(json.dumps(passages))
    return len(passages)


def large_text(megabytes: float) -> str:
    """Passages joined with their sentence ends removed, to about ``megabytes`` MB."""
    words: list[str] = []
    size, copy, target = 0, 0, int(megabytes * 1_000_000)
    base = originals()
    while size < target:
        for p in base:
            text = (p["text"] if copy == 0 else rewrite(p, copy)["text"]).replace(".", " ").replace("?", " ")
            words.append(text)
            size += len(text) + 1
            if size >= target:
                break
        copy += 1
    return " ".join(words)


def _settings(data_dir: Path, profile: str, model_cache: Path) -> Any:
    overrides: dict[str, Any] = {"data_dir": data_dir, "model_cache_dir": model_cache}
    if profile == "server":
        overrides.update(server_overrides())
    return load_settings(None, **overrides)


def _disk_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def _visible_after(app: AppContext, started: float, probe: str, title: str, limit_s: float = 120.0) -> float:
    """Seconds from ``started`` until a keyword query for ``probe`` returns the passage titled ``title``."""
    while time.perf_counter() - started < limit_s:
        found = app.reading.retriever.retrieve(probe, mode="keyword", k=5)
        if any(p.title == title for p in found.passages):
            return round(time.perf_counter() - started, 3)
        time.sleep(0.05)
    return float("nan")


def measure(size: int, profile: str, questions: int, model_cache: Path) -> dict[str, Any]:
    """One size on one profile, in this process."""
    with tempfile.TemporaryDirectory(prefix="hopgraph-scale-") as tmp:
        corpus = Path(tmp) / "corpus.json"
        passages = build_corpus(size, corpus)
        settings = _settings(Path(tmp) / "data", profile, model_cache)
        app = AppContext(settings)
        try:
            app.embedder  # noqa: B018 - models loaded before timing, as a running service has them
            app.nlp  # noqa: B018
            report = app.pipeline().run([corpus])
            t0 = time.perf_counter()
            app.reading.retriever.warm()
            index_s = time.perf_counter() - t0
            qs = load_questions(QUESTIONS, questions)
            modes: dict[str, dict[str, float]] = {}
            for mode in MODES:
                lat, rec = [], []
                for q in qs:
                    t = time.perf_counter()
                    found = app.reading.retriever.retrieve(q.question, mode=mode, k=5)
                    lat.append((time.perf_counter() - t) * 1000)
                    rec.append(recall_at([p.title for p in found.passages], q.gold_titles, 5))
                lat.sort()
                modes[mode] = {"p50_ms": round(lat[len(lat) // 2], 1), "p95_ms": round(lat[int(len(lat) * 0.95)], 1),
                               "recall@5": round(sum(rec) / len(rec), 4)}
            fresh = Path(tmp) / "fresh.json"
            fresh.write_text(json.dumps([{"title": "Quorvane Telmiric", "text": "Quorvane Telmiric founded the "
                                          "Ostravel Glassworks in Maribel in 1911."}]))
            started = time.perf_counter()
            app.pipeline().run([fresh])
            freshness = _visible_after(app, started, "Quorvane Telmiric Ostravel", "Quorvane Telmiric")
            extra = Path(tmp) / "extra.json"
            more = [rewrite(p, 10_000 + i) for i, p in enumerate(originals()[:100])]
            extra.write_text(json.dumps(more))
            started = time.perf_counter()
            app.pipeline().run([extra])
            incremental = _visible_after(app, started, more[-1]["title"], more[-1]["title"])
            disk = _disk_mb(settings.data_dir) if profile == "embedded" else None
        finally:
            app.close()
            if profile == "server":
                drop_server_data(settings)
    rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return {"size": size, "profile": profile, "passages": passages, "ingest_s": round(report.seconds, 1),
            "passages_per_s": round(report.documents / report.seconds, 1) if report.seconds else None,
            "peak_rss_mb": round(rss / 1024, 1), "disk_mb": disk,
            "graph_index_build_s": round(index_s, 2), "modes": modes, "freshness_s": freshness,
            "ingest_incremental_s": incremental, "failures": len(report.failures)}


def large_file(megabytes: float, model_cache: Path) -> dict[str, Any]:
    """One large plain-text file with no sentence ends, on the embedded profile, in this process."""
    with tempfile.TemporaryDirectory(prefix="hopgraph-large-") as tmp:
        text = large_text(megabytes)
        path = Path(tmp) / "large.txt"
        path.write_text(text)
        settings = _settings(Path(tmp) / "data", "embedded", model_cache)
        app = AppContext(settings)
        marks: list[tuple[float, int]] = []
        try:
            app.embedder  # noqa: B018
            app.nlp  # noqa: B018
            t0 = time.perf_counter()
            report = app.pipeline().run([path], text_progress=lambda done, _t: marks.append(
                (time.perf_counter() - t0, done)))
        finally:
            app.close()
    words = len(text.split())
    first = next((t for t, done in marks if done > 0), None)
    return {"large_file_mb": round(path.stat().st_size / 1e6 if path.exists() else len(text) / 1e6, 1),
            "words": words, "large_file_s": round(report.seconds, 1),
            "words_per_s": round(words / report.seconds, 1) if report.seconds else None,
            "chunks": report.chunks, "progress_updates": len(marks),
            "first_progress_s": round(first, 1) if first is not None else None, "failures": len(report.failures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--profile", choices=["embedded", "server", "both"], default="embedded")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--large-file-mb", type=float, default=15.0, help="0: no large file")
    parser.add_argument("--skip-sizes", action="store_true", help="only the large file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # SIZE:PROFILE or large:MB, run in this process
    args = parser.parse_args()
    if args.one:
        what, _, value = args.one.partition(":")
        result = (large_file(float(value), args.model_cache) if what == "large"
                  else measure(int(what), value, args.questions, args.model_cache))
        print(json.dumps(result), flush=True)
        return
    runs = [] if args.skip_sizes else [f"{s}:{p}" for s in args.sizes.split(",")
                                       for p in (["embedded", "server"] if args.profile == "both" else [args.profile])]
    if args.large_file_mb > 0:
        runs.append(f"large:{args.large_file_mb}")
    results = []
    for one in runs:
        done = subprocess.run([sys.executable, __file__, "--one", one, "--questions", str(args.questions),
                               "--model-cache", str(args.model_cache)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{one} failed")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
