"""Asking: ranked, explained evidence for a question, then a cited answer (extractive or generated).

The CLI's ``ask`` and the HTTP API's ``/retrieve`` and ``/query`` call these. Blocking.
"""

from __future__ import annotations

from collections.abc import Callable

from core.settings import Settings
from retrieval.answer import Answer, Answerer
from retrieval.retriever import Retriever
from retrieval.types import RetrievalResult


def retrieve(retriever: Retriever, settings: Settings, question: str, mode: str | None = None,
             k: int | None = None) -> RetrievalResult:
    """The passages for ``question`` (``mode`` and ``k`` default to the settings').

    Raises:
        InputError: an empty or overlong question, an unknown mode, k < 1.
        StoreError, ModelError: as the store and the embedder.
    """
    return retriever.retrieve(question, mode or settings.retrieval_mode, k or settings.top_k)


def answer(answerer: Answerer, result: RetrievalResult, *, extractive: bool = False,
           on_token: Callable[[str], None] | None = None) -> Answer:
    """A cited answer over ``result``: extractive (no LLM) or generated, tokens passed to ``on_token``.

    Raises:
        ModelError: the reader cannot be loaded or fails.
    """
    if extractive:
        return answerer.extractive(result)
    return answerer.generate(result, on_token=on_token)
