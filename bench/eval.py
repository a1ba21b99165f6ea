"""Evaluation benchmark: Recall@2/5/10, answer EM/F1 and retrieval latency per mode.

Usage: python bench/eval.py [--questions FILE] [--corpus FILE] [--modes dense,keyword,graph,hybrid]
                            [--limit N] [--no-llm] [--oracle] [--reader NAME_OR_PATH] [--failures]
                            [--store DIR] [--out FILE] [--profile embedded|server|both] [--acl-half]

Prints a markdown table, then one JSON object {"<mode>": {"recall@2": .., "em": .., "f1": ..,
"no_answer_rate": .., "unsupported_rate": .., "answer_s_mean": .., "answer_s_p95": .., "ttft_s_p50": .., ...}}
(with --oracle also "oracle": the reader on the gold supporting passages); writes it to --out.
Defaults to ../shared/data/musique (100 questions, 1,890 passages).

--acl-half measures what document-level access control costs: besides the plain run, the corpus is
ingested with an ACL on every other passage and evaluated twice through a restricted view, once as a
viewer holding the ACL's group (every passage visible: the same recall, the filtering's cost alone) and
once as one without it (half the passages visible); keys ``acl-holder:<mode>`` and ``acl-outsider:<mode>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profiles import server_overrides  # noqa: E402
from core.settings import load_settings  # noqa: E402
from graph.store import drop_server_data  # noqa: E402
from service.access import Viewer  # noqa: E402
from service.evaluation import (  # noqa: E402
    MODES,
    EvalQuestion,  # noqa: E402
    load_questions,
    markdown_table,
    print_failure,
    run,
)

ACL_GROUP = "group:bench"

DATA = ROOT.parent / "shared" / "data" / "musique"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=DATA / "questions.json")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.json")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--no-llm", action="store_true", help="score extractive answers only")
    parser.add_argument("--oracle", action="store_true", help="also answer from the gold supporting passages")
    parser.add_argument("--reader", help="reader LLM: a packaged name ('default', 'fast') or a GGUF path")
    parser.add_argument("--failures", action="store_true", help="print every answer that is not an exact match")
    parser.add_argument("--store", type=Path, help="store directory to reuse (default: fresh temporary)")
    parser.add_argument("--model-cache", type=Path, default=ROOT / "bench" / "results" / "model-cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "eval.json")
    parser.add_argument("--profile", choices=["embedded", "server", "both"], default="embedded",
                        help="server: Neo4j + Weaviate from the HOPGRAPH_* settings (source .services/env)")
    parser.add_argument("--acl-half", action="store_true",
                        help="also evaluate with an ACL on every other passage, through restricted views")
    args = parser.parse_args()
    questions = load_questions(args.questions, args.limit)
    profiles = ["embedded", "server"] if args.profile == "both" else [args.profile]
    result: dict[str, dict[str, object]] = {}
    for profile in profiles:
        with tempfile.TemporaryDirectory(prefix="hopgraph-eval-") as tmp:
            overrides: dict[str, object] = {"data_dir": args.store or Path(tmp), "model_cache_dir": args.model_cache,
                                            "llm_model": args.reader}
            if profile == "server":
                overrides.update(server_overrides())
            settings = load_settings(None, **overrides)
            try:
                done = run(settings, questions, args.corpus, args.modes.split(","), use_llm=not args.no_llm,
                           oracle=args.oracle and not args.no_llm,
                           on_answer=print_failure if args.failures else None)
            finally:
                if profile == "server":
                    drop_server_data(settings)
        reports = done.reports
        print(f"{profile}: {len(questions)} questions, {done.passages} passages, ingest {done.ingest_s:.1f}s")
        print(markdown_table(reports))
        key = "" if len(profiles) == 1 else f"{profile}:"
        result.update({f"{key}{mode}": rep.as_dict() for mode, rep in reports.items()})
        if args.acl_half:
            result.update(_acl_half(args, questions, profile, key))
    print(json.dumps(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


def _acl_half(args: argparse.Namespace, questions: list[EvalQuestion], profile: str,
              key: str) -> dict[str, dict[str, object]]:
    """The corpus with an ACL on every other passage, evaluated as a viewer with the group and one without."""
    out: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="hopgraph-eval-acl-") as tmp:
        rows = json.loads(args.corpus.read_text())
        corpus = Path(tmp) / "corpus.json"
        corpus.write_text(json.dumps([dict(r, acl=[ACL_GROUP]) if i % 2 else r for i, r in enumerate(rows)]))
        overrides: dict[str, object] = {"data_dir": Path(tmp) / "store", "model_cache_dir": args.model_cache,
                                        "llm_model": args.reader}
        if profile == "server":
            overrides.update(server_overrides())
        settings = load_settings(None, **overrides)
        try:
            for name, viewer in (("acl-holder", Viewer.of([ACL_GROUP])), ("acl-outsider", Viewer.of(["group:none"]))):
                done = run(settings, questions, corpus, args.modes.split(","), use_llm=not args.no_llm,
                           viewer=viewer)
                print(f"{profile} {name}: ACL on every other passage, ingest {done.ingest_s:.1f}s")
                print(markdown_table(done.reports))
                out.update({f"{key}{name}:{mode}": rep.as_dict() for mode, rep in done.reports.items()})
        finally:
            if profile == "server":
                drop_server_data(settings)
    return out


if __name__ == "__main__":
    main()
