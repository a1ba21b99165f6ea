"""What every reader gives: a chat reply streamed token by token (:class:`ChatStream`), and the interface of a
reader (:class:`ChatModel`) that the local model and the pool of reader servers share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol


class ChatStream:
    """One reply, token by token; its :attr:`timings` are filled in once the reply is read to the end.

    Each call of :meth:`ChatModel.stream_chat` has its own stream, so concurrent answers never see
    each other's token counts.
    """

    def __init__(self, tokens: Callable[[ChatStream], Iterator[str]]) -> None:
        self.timings: dict[str, float] = {}
        """``ttft_s``, ``tokens``, ``tokens_per_s`` and ``total_s`` of this reply (empty until it ends)."""
        self._tokens = tokens(self)

    def __iter__(self) -> Iterator[str]:
        return self._tokens


class ChatModel(Protocol):
    """What answers: :class:`inference.llm.LocalLLM` in this process, or :class:`inference.remote_llm.RemoteLLM`
    on reader servers."""

    @property
    def name(self) -> str:
        """The model (a file name, or a model and its endpoints)."""
        ...

    @property
    def max_tokens(self) -> int:
        """The configured cap on generated tokens."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` (an estimate where the tokenizer is remote)."""
        ...

    def stream_chat(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> ChatStream:
        """The reply as a stream of tokens."""
        ...
