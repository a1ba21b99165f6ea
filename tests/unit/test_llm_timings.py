"""Each reply carries its own timings: concurrent answers never report each other's token counts."""

from __future__ import annotations

import threading

from core.settings import Settings
from inference.llm import load_llm


def test_concurrent_replies_keep_their_own_token_counts(settings: Settings) -> None:
    llm = load_llm(settings.model_copy(update={"llm_temperature": 0.0}))  # the fast packaged reader
    chat = [{"role": "user", "content": "Count from one to forty in words, separated by commas."}]
    results: dict[int, tuple[int, dict[str, float]]] = {}

    def ask(cap: int) -> None:
        stream = llm.stream_chat(chat, max_tokens=cap)
        tokens = list(stream)
        results[cap] = (len(tokens), stream.timings)

    threads = [threading.Thread(target=ask, args=(cap,)) for cap in (2, 24, 5, 16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == [2, 5, 16, 24]
    for cap, (n, timings) in results.items():
        assert timings["tokens"] == n and 0 < n <= cap
        assert timings["total_s"] >= timings["ttft_s"] > 0
    assert len({n for n, _ in results.values()}) > 1  # the replies really differ in length
