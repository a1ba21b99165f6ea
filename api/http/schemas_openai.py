"""The OpenAI-compatible request (``POST /openai/v1/chat/completions``), in OpenAI's shape."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from api.http.schemas import Mode, TopK


class ChatMessage(Struct):
    """One message of a chat (OpenAI's shape); ``content`` is text or a list of content parts."""

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(Struct):
    """An OpenAI-style chat completion request: ``model`` is ``hopgraph:<collection>``, the last user message the
    question. OpenAI's other parameters (temperature, n, top_p, ...) are accepted and not used: the reader's
    settings decide. ``mode`` and ``k`` are hopgraph's retrieval mode and passage count."""

    model: Annotated[str, Meta(min_length=1, max_length=200)]
    messages: Annotated[list[ChatMessage], Meta(min_length=1, max_length=200)]
    stream: bool = False
    mode: Mode | None = None
    k: TopK | None = None
