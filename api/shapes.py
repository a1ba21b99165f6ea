"""The JSON shapes of retrieval results and answers, shared by the CLI (``ask --json``) and the HTTP API."""

from __future__ import annotations

from typing import Any

import msgspec

from service.types import Answer, Citation, LinkedEntity, Passage, RetrievalResult, Step
from service.usage import Usage


class RetrievalOut(msgspec.Struct, kw_only=True):
    """Passages best first, each with per-signal scores, the question entities it mentions and explaining paths."""

    question: str
    mode: str
    latency_ms: float
    embedding_model: str  # the model whose vectors ranked the passages (changes when a migration switches)
    linked: list[LinkedEntity]
    passages: list[Passage]


class UsageOut(msgspec.Struct, kw_only=True):
    """What a request cost: CPU seconds (the process's CPU shared among the requests running when it was spent),
    reader tokens read and generated, wall seconds of retrieval and of generation."""

    cpu_s: float
    prompt_tokens: int
    completion_tokens: int
    retrieval_s: float
    generation_s: float


def usage_out(usage: Usage) -> UsageOut:
    """The serialisable form of a usage record."""
    figures = usage.as_dict()
    return UsageOut(cpu_s=float(figures["cpu_s"]), prompt_tokens=int(figures["prompt_tokens"]),
                    completion_tokens=int(figures["completion_tokens"]),
                    retrieval_s=float(figures["retrieval_s"]), generation_s=float(figures["generation_s"]))


def answer_usage(answer: Answer) -> Usage:
    """The tokens and generation time of a generated answer (CPU and retrieval are measured around it)."""
    t = answer.timings
    return Usage(prompt_tokens=int(t.get("prompt_tokens", 0)), completion_tokens=int(t.get("tokens", 0)),
                 generation_s=float(t.get("total_s", 0.0)))


class AnswerOut(msgspec.Struct, kw_only=True):
    """A cited answer with the retrieval it was drawn from."""

    answer: str
    supported: bool  # a cited passage span contains the answer
    unsupported: bool  # an answer no passage contains: a guess, flagged, not a fact
    no_answer: bool  # the passages do not answer the question (``answer`` says so)
    mode: str
    citations: list[Citation]
    removed_citations: int
    timings: dict[str, float]
    facts: list[str]  # graph relations joining the question's entities to the answer, citing passages
    steps: list[Step]  # the reading passes: hop, retrieval query, passages read, reply, outcome, bridge entity
    retrieval: RetrievalOut  # the passages the answer was read from: citation n is passages[n - 1]
    usage: UsageOut | None = None  # what answering cost (the API's query and ``ask --json``)


def retrieval_out(result: RetrievalResult) -> RetrievalOut:
    """The serialisable form of a retrieval result."""
    return RetrievalOut(question=result.question, mode=result.mode, latency_ms=result.latency_ms,
                        embedding_model=result.embedding_model,
                        linked=list(result.linked), passages=list(result.passages))


def answer_out(answer: Answer, usage: Usage | None = None) -> AnswerOut:
    """The serialisable form of an answer, with what it cost when ``usage`` is given."""
    return AnswerOut(answer=answer.text, supported=answer.supported, unsupported=answer.unsupported,
                     no_answer=answer.no_answer, mode=answer.mode,
                     citations=list(answer.citations), removed_citations=answer.removed_citations,
                     timings=dict(answer.timings), facts=list(answer.facts), steps=list(answer.steps),
                     retrieval=retrieval_out(answer.retrieval),
                     usage=usage_out(usage) if usage is not None else None)


def answer_outcome(answer: Answer) -> str:
    """``supported``, ``unsupported`` or ``no_answer`` (the label of ``hopgraph_answers_total``)."""
    return "no_answer" if answer.no_answer else "supported" if answer.supported else "unsupported"


def answer_to_dict(answer: Answer, usage: Usage | None = None) -> dict[str, Any]:
    """The JSON shape of an answer (``hopgraph ask --json`` and ``POST .../query``)."""
    out: dict[str, Any] = msgspec.to_builtins(answer_out(answer, usage))
    return out
