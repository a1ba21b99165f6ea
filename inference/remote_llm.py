"""The reader on a pool of OpenAI-compatible servers (``llm_backend = openai``).

llama.cpp's server (``python -m llama_cpp.server``, started for tests by ``deploy/inference.sh``), vLLM,
Ollama or any other server that speaks ``POST /v1/chat/completions`` with ``stream: true`` can answer.
Requests go round-robin over the endpoints that are up. An endpoint that refuses the connection, times out
or answers 5xx is marked down for ``llm_endpoint_cooldown_s`` and the request goes to the next one. A
reply that breaks off mid-stream is asked again of another endpoint; with greedy decoding (temperature 0)
it repeats the reply so far, which is checked and not passed on twice, and the stream goes on where it
stopped. Only when every endpoint failed (or a retried reply differs from what was already streamed) does
the stream end with :class:`~core.errors.ModelError`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.errors import ModelError
from inference.chat import ChatStream


class _Broken(Exception):
    """An endpoint failed (connection, timeout, 5xx, a stream cut short): try another one."""


@dataclass(slots=True)
class EndpointState:
    """What the pool knows about one endpoint (shown by /readyz and /metrics)."""

    url: str
    down_until: float = 0.0
    last_error: str = ""
    requests: int = 0
    failures: int = 0

    def up(self, now: float) -> bool:
        return now >= self.down_until


@dataclass(frozen=True, slots=True)
class EndpointReport:
    """One endpoint's state at one moment."""

    url: str
    up: bool
    requests: int
    failures: int
    last_error: str


@dataclass(slots=True)
class EndpointPool:
    """Round-robin over the endpoints that are up; a failed one sits out ``cooldown_s`` seconds."""

    urls: list[str]
    cooldown_s: float = 20.0
    states: list[EndpointState] = field(init=False)
    _next: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if not self.urls:
            raise ModelError("llm_backend = openai needs at least one URL in llm_endpoints")
        self.states = [EndpointState(u) for u in self.urls]

    def order(self) -> list[EndpointState]:
        """Every endpoint, the ones that are up first (starting with the next in turn), then the ones that are
        down, soonest back first (tried when nothing else answers)."""
        now = time.monotonic()
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self.states)
        turn = self.states[start:] + self.states[:start]
        return [s for s in turn if s.up(now)] + sorted((s for s in turn if not s.up(now)),
                                                        key=lambda s: s.down_until)

    def sent(self, state: EndpointState) -> None:
        with self._lock:
            state.requests += 1

    def failed(self, state: EndpointState, error: str) -> None:
        with self._lock:
            state.failures += 1
            state.last_error = error
            state.down_until = time.monotonic() + self.cooldown_s

    def succeeded(self, state: EndpointState) -> None:
        with self._lock:
            state.down_until = 0.0
            state.last_error = ""

    def snapshot(self) -> list[EndpointReport]:
        """Each endpoint's state now."""
        now = time.monotonic()
        with self._lock:
            return [EndpointReport(s.url, s.up(now), s.requests, s.failures, s.last_error) for s in self.states]


class RemoteLLM:
    """The reader behind :class:`EndpointPool`; the same interface as :class:`inference.chat.ChatModel`."""

    def __init__(self, pool: EndpointPool, *, model: str = "", temperature: float = 0.0, max_tokens: int = 128,
                 timeout_s: float = 30.0) -> None:
        self.pool = pool
        self._model = model
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
        self._client = httpx.Client(timeout=self._timeout)

    @property
    def name(self) -> str:
        """What answers: the model name and the endpoints."""
        return f"{self._model or 'remote'} @ {', '.join(self.pool.urls)}"

    @property
    def max_tokens(self) -> int:
        """The configured cap on generated tokens (``llm_max_tokens``)."""
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        """An estimate (the servers' tokenizers are not at hand): 4 characters a token."""
        return max(1, len(text) // 4)

    def close(self) -> None:
        self._client.close()

    def stream_chat(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> ChatStream:
        """The reply as a stream of tokens from the first endpoint that gives one; ``timings`` once it is read.

        Raises:
            ModelError: (while iterating) every endpoint failed, or a retried reply differed from the part
                already streamed.
        """
        return ChatStream(lambda stream: self._generate(stream, messages, max_tokens or self._max_tokens))

    def _generate(self, stream: ChatStream, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        started = time.perf_counter()
        first: float | None = None
        sent = ""  # what the caller has already been given
        usage: dict[str, Any] = {}
        errors: list[str] = []
        for state in self.pool.order():
            got = ""
            try:
                for piece, usage_part in self._request(state, messages, max_tokens):
                    usage.update(usage_part)
                    got += piece
                    if not (got.startswith(sent) or sent.startswith(got)):
                        raise ModelError(f"{state.url} gave a different reply than the endpoint that failed "
                                         "mid-stream; the answer was cut short")
                    if len(got) <= len(sent):  # the part already streamed, repeated by a retry
                        continue
                    new, sent = got[len(sent):], got
                    if first is None:
                        first = time.perf_counter()
                    yield new
            except _Broken as exc:
                self.pool.failed(state, str(exc))
                errors.append(f"{state.url}: {exc}")
                continue
            self.pool.succeeded(state)
            break
        else:
            raise ModelError("no reader server answered: " + "; ".join(errors))
        done = time.perf_counter()
        n = int(usage.get("completion_tokens") or 0) or max(1, len(sent) // 4)
        gen_time = done - (first or done)
        stream.timings = {"ttft_s": (first or done) - started, "tokens": float(n),
                          "prompt_tokens": float(usage.get("prompt_tokens") or 0),
                          "tokens_per_s": (n - 1) / gen_time if n > 1 and gen_time > 0 else 0.0,
                          "total_s": done - started}

    def _request(self, state: EndpointState, messages: list[dict[str, str]], max_tokens: int,
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(text, usage) pieces of one streamed completion from one endpoint.

        Raises:
            _Broken: the endpoint failed; ModelError: it refused the request itself (4xx).
        """
        self.pool.sent(state)
        body: dict[str, Any] = {"messages": messages, "stream": True, "temperature": self._temperature,
                                "max_tokens": max_tokens, "stream_options": {"include_usage": True}}
        if self._model:
            body["model"] = self._model
        try:
            with self._client.stream("POST", f"{state.url}/chat/completions", json=body) as response:
                if response.status_code >= 500:
                    raise _Broken(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    response.read()
                    raise ModelError(f"reader server {state.url} refused the request: HTTP "
                                     f"{response.status_code} {response.text[:200]}")
                finished = False
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        finished = True
                        break
                    chunk = json.loads(data)
                    usage = chunk.get("usage") or {}
                    choices = chunk.get("choices") or []
                    delta = (choices[0].get("delta") or {}).get("content") if choices else None
                    if choices and choices[0].get("finish_reason"):
                        finished = True
                    if delta or usage:
                        yield delta or "", usage
                if not finished:
                    raise _Broken("the stream ended before the reply did")
        except httpx.HTTPError as exc:
            raise _Broken(f"{type(exc).__name__}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise _Broken(f"not a server-sent event stream: {exc}") from exc
