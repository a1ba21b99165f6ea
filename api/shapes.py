"""The JSON shapes of retrieval results and answers, shared by the CLI (``ask --json``) and the HTTP API."""

from __future__ import annotations

from typing import Any

import msgspec

from service.types import Answer, Citation, LinkedEntity, Passage, RetrievalResult, Step


class RetrievalOut(msgspec.Struct, kw_only=True):
    """Passages best first, each with per-signal scores, the question entities it mentions and explaining paths."""

    question: str
    mode: str
    latency_ms: float
    embedding_model: str  # the model whose vectors ranked the passages (changes when a migration switches)
    linked: list[LinkedEntity]
    passages: list[Passage]


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


def retrieval_out(result: RetrievalResult) -> RetrievalOut:
    """The serialisable form of a retrieval result."""
    return RetrievalOut(question=result.question, mode=result.mode, latency_ms=result.latency_ms,
                        embedding_model=result.embedding_model,
                        linked=list(result.linked), passages=list(result.passages))


def answer_out(answer: Answer) -> AnswerOut:
    """The serialisable form of an answer."""
    return AnswerOut(answer=answer.text, supported=answer.supported, unsupported=answer.unsupported,
                     no_answer=answer.no_answer, mode=answer.mode,
                     citations=list(answer.citations), removed_citations=answer.removed_citations,
                     timings=dict(answer.timings), facts=list(answer.facts), steps=list(answer.steps),
                     retrieval=retrieval_out(answer.retrieval))


def answer_outcome(answer: Answer) -> str:
    """``supported``, ``unsupported`` or ``no_answer`` (the label of ``hopgraph_answers_total``)."""
    return "no_answer" if answer.no_answer else "supported" if answer.supported else "unsupported"


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """The JSON shape of an answer (``hopgraph ask --json`` and ``POST .../query``)."""
    out: dict[str, Any] = msgspec.to_builtins(answer_out(answer))
    return out
