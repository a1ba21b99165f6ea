"""The multi-hop reader: short-answer prompting over pruned, numbered passages, with a bounded second hop.

One pass: the question's passages are pruned to the sentences that matter
(:mod:`retrieval.excerpts`), numbered, followed by the graph's facts, and the
local LLM is asked for the short answer and the passage that supports it. The
reply is checked (:mod:`retrieval.support`): no answer, the wrong type ("when"
wants a date) or an answer no passage contains means one pass was not enough.
Then, as in IRCoT, the bridge entity the first passages name is added to the
question, retrieval runs again, and the reader reads the best first-hop passages
with the new ones. The number of passes and their time are bounded
(:class:`ReaderConfig`). Every pass is recorded as a :class:`Step`.

Runs in the caller's thread (the HTTP API calls it from its generation pool).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from inference.chat import ChatModel
from retrieval.excerpts import STOPWORDS, Excerpt, ExcerptConfig, select
from retrieval.support import Citation, cited_numbers, expected_type, strip_markers, support, type_fits
from retrieval.types import Passage, RetrievalResult

SYSTEM_PROMPT = (
    "You answer questions from the numbered passages. Reply with only the short answer (a name, place, date, "
    "number or short phrase, never a sentence), then the number of the passage it comes from in square brackets, "
    "like: Paris [2]. If the passages do not contain the answer, reply exactly: I don't know."
)
_NO_ANSWER_REPLY = re.compile(r"\b(i don'?t know|i do not know|not (?:mentioned|stated|given|provided|in the "
                              r"passages)|cannot be determined|unknown|no information)\b", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:short\s+)?answer\s*(?:is)?\s*[:\-]\s*", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|and|for|in|von|van|da|la|&)?\s*[A-Z0-9][\w'’.-]*)*")


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    """Knobs of the reader; one configuration for every dataset."""

    excerpts: ExcerptConfig = field(default_factory=ExcerptConfig)
    max_steps: int = 2  # reading passes: 1 = no second hop
    time_budget_s: float = 12.0  # no further pass starts after this long
    max_tokens: int = 24  # a short answer and its citation (or llm_max_tokens, if smaller)
    second_hop_passages: int = 3  # new passages read in the second pass, after the first pass's best two
    keep_first: int = 2


Outcome = Literal["answered", "unsupported", "wrong-type", "no-answer"]


@dataclass(frozen=True, slots=True)
class Step:
    """One reading pass: what was retrieved (``query``), what was read, what the reader replied."""

    hop: int
    query: str
    passages: list[str]  # chunk ids, in prompt order
    reply: str
    outcome: Outcome
    bridge: str | None  # the entity added to the question for this pass's retrieval (None for the first)
    seconds: float


@dataclass(slots=True)
class Reading:
    """The outcome of :meth:`MultiHopReader.read`."""

    text: str  # the short answer with its [n] markers, or "" for no answer
    citations: list[Citation]
    supported: bool
    removed_citations: int
    passages: list[Passage]  # in prompt order: [n] is passages[n - 1]
    steps: list[Step]
    timings: dict[str, float]
    outcome: Outcome = "no-answer"  # of the pass whose reply this is


# A worked example (fictional, so it favours no dataset) shown before every question: the answer is the entity
# the chain of passages ends at, not the bridge on the way. It never changes, so its KV cache is reused.
EXAMPLE: tuple[tuple[str, str], ...] = (
    ("Passages:\n[1] Salt Winds: Salt Winds is a 1998 novel by the Norwegian writer Harald Berg.\n"
     "[2] Harald Berg: Harald Berg was born in Bergen in 1951 and studied law in Oslo.\n"
     "[3] Bergen: Bergen is a city in Vestland county, on the west coast of Norway.\n\n"
     "Question: In which county was the author of Salt Winds born?\nAnswer:", "Vestland [3]"),
    ("Passages:\n[1] Harald Berg: Harald Berg was born in Bergen in 1951 and studied law in Oslo.\n\n"
     "Question: Who was the first wife of Harald Berg?\nAnswer:", "I don't know"),
)
FEW_SHOT = True


def messages(question: str, excerpts: Sequence[Excerpt], facts: Sequence[str] = ()) -> list[dict[str, str]]:
    """Chat messages: the fixed system prompt and worked example (their KV cache is reused), then the numbered
    excerpts, the graph's facts and the question."""
    lines = []
    for x in excerpts:
        title = x.passage.title.strip()
        lines.append(f"[{x.n}] {title + ': ' if title else ''}{x.text}")
    graph = "\n\nFacts from the knowledge graph:\n" + "\n".join(facts) if facts else ""
    shots = [m for ask, reply in EXAMPLE for m in ({"role": "user", "content": ask},
                                                    {"role": "assistant", "content": reply})] if FEW_SHOT else []
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        *shots,
        {"role": "user", "content": "Passages:\n" + "\n".join(lines) + f"{graph}\n\nQuestion: {question}\nAnswer:"},
    ]


def parse_reply(raw: str) -> str:
    """The reply's first line without an ``Answer:`` prefix or quotes; "" when the reader said it does not know."""
    line = next((ln for ln in raw.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip().strip('"').strip()
    if not strip_markers(line) or _NO_ANSWER_REPLY.search(strip_markers(line)):
        return ""
    return line


def bridge_entity(question: str, excerpts: Sequence[Excerpt], answer: str = "") -> str | None:
    """The entity the first passages name that the question does not: where the next hop starts."""
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    counts: dict[str, float] = {}
    for x in excerpts[:3]:
        for name in _NAME.findall(x.text):
            words = [w for w in re.findall(r"\w+", name) if w.lower() not in STOPWORDS]
            if not words or all(w.lower() in asked for w in words) or len(name) < 3:
                continue
            counts[name] = counts.get(name, 0.0) + 1.0 / x.n
    if answer and answer not in counts and len(answer) >= 3:
        counts[answer] = 10.0  # the reader's own unsupported guess names the bridge best
    return max(counts, key=lambda k: counts[k]) if counts else None


class MultiHopReader:
    """Reads retrieved passages with the local LLM, retrieving a second hop when one pass is not enough."""

    def __init__(self, llm_factory: Callable[[], ChatModel],
                 retrieve: Callable[[str, str, int], RetrievalResult] | None = None,
                 config: ReaderConfig | None = None,
                 entity_type: Callable[[str], str | None] | None = None) -> None:
        """Args:
        llm_factory: returns the (shared, loaded once) LLM.
        retrieve: ``(query, mode, k) -> RetrievalResult`` for the second hop; None: one pass only.
        config: reader knobs.
        entity_type: the graph type of the entity a short answer names exactly (None when none does).
        """
        self._llm_factory = llm_factory
        self._retrieve = retrieve
        self._entity_type = entity_type or (lambda _name: None)
        self.config = config or ReaderConfig()

    def read(self, result: RetrievalResult, facts: Sequence[str] = (),
             on_token: Callable[[str], None] | None = None, max_steps: int | None = None) -> Reading:
        """Answer ``result.question`` from ``result.passages`` (and a second retrieval when needed, at most
        ``max_steps`` passes in all; default: the configured number).

        Raises:
            ModelError: the LLM failed.
        """
        started = time.perf_counter()
        cfg = self.config
        llm = self._llm_factory()
        wanted = expected_type(result.question)
        names = [lk.surface for lk in result.linked]
        steps: list[Step] = []
        timings: dict[str, float] = {}
        best: Reading | None = None
        best_outcome: Outcome = "no-answer"
        query, bridge = result.question, None
        limit = max_steps or cfg.max_steps
        excerpts: list[Excerpt] = []
        fresh: list[Passage] = []
        for hop in range(1, limit + 1):
            t0 = time.perf_counter()
            if hop == 1:
                excerpts = select(result.question, result.passages, names, cfg.excerpts)
            else:  # the first pass's best excerpts stay as they were: llama.cpp reuses that prompt prefix
                kept = excerpts[: cfg.keep_first]
                more = select(query, fresh, names, replace(cfg.excerpts, passages=len(fresh), connected_only=False,
                                                            min_passages=1))
                excerpts = kept + [Excerpt(len(kept) + x.n, x.passage, x.spans) for x in more]
            if hop > 1 and on_token is not None:
                on_token("\n")
            pieces, figures = self._stream(llm, messages(result.question, excerpts, facts if hop == 1 else ()),
                                           on_token)
            raw = "".join(pieces)
            if hop == 1:
                timings = dict(figures)
            else:
                for figure in ("tokens", "prompt_tokens"):
                    timings[figure] = timings.get(figure, 0.0) + figures.get(figure, 0.0)
            reading, outcome = self._judge(raw, excerpts, wanted, self._entity_type)
            shown = [x.passage.chunk_id for x in excerpts]
            steps.append(Step(hop, query, shown, raw.strip(), outcome, bridge, round(time.perf_counter() - t0, 3)))
            reading.outcome = outcome
            if best is None or _better(outcome, best_outcome):
                best, best_outcome = reading, outcome
            if outcome == "answered" or self._retrieve is None or hop == limit:
                break
            if time.perf_counter() - started > cfg.time_budget_s:
                break
            bridge = bridge_entity(result.question, excerpts, strip_markers(reading.text) if reading.text else "")
            if bridge is None:
                break
            query = f"{result.question} {bridge}"
            again = self._retrieve(query, result.mode, cfg.excerpts.passages + cfg.keep_first)
            seen = {x.passage.chunk_id for x in excerpts[: cfg.keep_first]}
            fresh = [p for p in again.passages if p.chunk_id not in seen][: cfg.second_hop_passages]
            if not fresh:
                break
        assert best is not None
        best.steps = steps
        best.timings = {**timings, "total_s": time.perf_counter() - started, "steps": float(len(steps))}
        return best

    def _stream(self, llm: ChatModel, chat: list[dict[str, str]], on_token: Callable[[str], None] | None,
                ) -> tuple[list[str], dict[str, float]]:
        pieces: list[str] = []
        stream = llm.stream_chat(chat, max_tokens=min(self.config.max_tokens, llm.max_tokens))
        for token in stream:
            pieces.append(token)
            if on_token is not None:
                on_token(token)
        return pieces, stream.timings

    @staticmethod
    def _judge(raw: str, excerpts: Sequence[Excerpt], wanted: str | None,
               entity_type: Callable[[str], str | None]) -> tuple[Reading, Outcome]:
        passages = [x.passage for x in excerpts]
        line = parse_reply(raw)
        if not line:
            return Reading("", [], False, 0, passages, [], {}), "no-answer"
        cited, removed = cited_numbers(line, len(excerpts))
        short = strip_markers(line)
        citations = support(short, excerpts, cited)
        marks = "".join(f"[{n}]" for n in dict.fromkeys(c.n for c in citations))
        text = f"{short} {marks}".strip()
        reading = Reading(text, citations, bool(citations), removed, passages, [], {})
        if not type_fits(short, wanted, entity_type(short) if wanted in ("person", "place") else None):
            return reading, "wrong-type"
        return reading, "answered" if citations else "unsupported"


_RANK: dict[Outcome, int] = {"answered": 3, "unsupported": 2, "wrong-type": 1, "no-answer": 0}


def _better(new: Outcome, old: Outcome) -> bool:
    """An answer of the asked type that a passage contains beats an unsupported one, which beats one of the wrong
    type, which beats none; on a tie the earlier pass stands."""
    return _RANK[new] > _RANK[old]
