"""The JSON shapes of retrieval results and answers, shared by the CLI (``ask --json``) and the HTTP API."""

from __future__ import annotations

from typing import Any

import msgspec

from retrieval.answer import Answer, Citation
from retrieval.linking import LinkedEntity
from retrieval.types import Passage, RetrievalResult


class RetrievalOut(msgspec.Struct, kw_only=True):
    """Passages best first, each with per-signal scores, the question entities it mentions and explaining paths."""

    question: str
    mode: str
    latency_ms: float
    linked: list[LinkedEntity]
    passages: list[Passage]


class AnswerOut(msgspec.Struct, kw_only=True):
    """A cited answer with the retrieval it was drawn from."""

    answer: str
    supported: bool
    mode: str
    citations: list[Citation]
    removed_citations: int
    timings: dict[str, float]
    facts: list[str]  # graph relations joining the question's entities to the answer, citing passages
    retrieval: RetrievalOut


def retrieval_out(result: RetrievalResult) -> RetrievalOut:
    """The serialisable form of a retrieval result."""
    return RetrievalOut(question=result.question, mode=result.mode, latency_ms=result.latency_ms,
                        linked=list(result.linked), passages=list(result.passages))


def answer_out(answer: Answer) -> AnswerOut:
    """The serialisable form of an answer."""
    return AnswerOut(answer=answer.text, supported=answer.supported, mode=answer.mode,
                     citations=list(answer.citations), removed_citations=answer.removed_citations,
                     timings=dict(answer.timings), facts=list(answer.facts),
                     retrieval=retrieval_out(answer.retrieval))


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """The JSON shape of an answer (``hopgraph ask --json`` and ``POST .../query``)."""
    out: dict[str, Any] = msgspec.to_builtins(answer_out(answer))
    return out
