"""LLM speed: hopgraph's answer path against raw llama.cpp on the same model and threads.

Usage: python bench/llm.py [--threads N] [--runs N] [--reader NAME_OR_PATH] [--out FILE]

Raw: llama-cpp-python's low-level ``eval`` of a prompt (prompt tokens/s) and token-by-token
sampling (generated tokens/s). hopgraph: ``LocalLLM.stream_chat`` on a retrieval-style prompt
(time to first token, generated tokens/s). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import load_settings  # noqa: E402
from inference.llm import load_llm  # noqa: E402
from inference.registry import model_cache, resolve_llm  # noqa: E402

PASSAGES = "\n\n".join(
    f"[{i}] Passage {i}: Corvel Robotics is a Finnish maker of warehouse robots based in Tampere. "
    "Northwind Holdings acquired it in 2019; Ilse Marnik founded Northwind Holdings in 2004." for i in range(1, 6)
)
QUESTION = "Who founded the company that acquired Corvel Robotics?"


def raw_speed(path: Path, threads: int, n_gen: int) -> dict[str, float]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, n_batch=512,
                verbose=False)
    tokens = llm.tokenize((PASSAGES + "\n" + QUESTION).encode(), add_bos=True)
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    prompt_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    for _ in range(n_gen):
        tok = llm.sample(temp=0.0)
        llm.eval([tok])
    gen_s = time.perf_counter() - t1
    return {"prompt_tokens": len(tokens), "prompt_tokens_per_s": len(tokens) / prompt_s,
            "gen_tokens": n_gen, "gen_tokens_per_s": n_gen / gen_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reader", default="default", help="a packaged reader name or a GGUF path")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "llm.json")
    args = parser.parse_args()
    settings = load_settings(None, threads=args.threads, llm_max_tokens=64, llm_model=args.reader)
    path = resolve_llm(settings.llm_model, settings.llm_model_path, model_cache(settings))
    raw = raw_speed(path, args.threads, 64)
    llm = load_llm(settings)
    runs = []
    for i in range(args.runs):
        messages = [{"role": "system", "content": "Answer from the passages with a citation like [1]."},
                    {"role": "user", "content": f"Passages:\n{PASSAGES}\n\nQuestion ({i}): {QUESTION}\nAnswer:"}]
        prompt_tokens = llm.count_tokens(messages[0]["content"] + messages[1]["content"])
        stream = llm.stream_chat(messages, max_tokens=64)
        list(stream)
        runs.append({**stream.timings, "prompt_tokens": prompt_tokens})
    best = max(runs, key=lambda r: r["tokens_per_s"])
    ttft_budget = runs[-1]["prompt_tokens"] / raw["prompt_tokens_per_s"] + 0.3
    result = {
        "model": path.name, "threads": args.threads,
        "raw_prompt_tokens_per_s": round(raw["prompt_tokens_per_s"], 1),
        "raw_gen_tokens_per_s": round(raw["gen_tokens_per_s"], 1),
        "hopgraph_gen_tokens_per_s": round(best["tokens_per_s"], 1),
        "hopgraph_gen_ratio": round(best["tokens_per_s"] / raw["gen_tokens_per_s"], 3),
        "hopgraph_ttft_s": [round(r["ttft_s"], 3) for r in runs],
        "ttft_budget_s": round(ttft_budget, 3),
        "prompt_tokens": runs[-1]["prompt_tokens"],
    }
    print(json.dumps(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
