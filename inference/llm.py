"""The local LLM (llama.cpp through llama-cpp-python), loaded once and reused; :func:`load_llm` gives it or
the pool of reader servers (:mod:`inference.remote_llm`).

llama.cpp keeps the evaluated tokens of the previous call and re-evaluates
only what differs, so a fixed system prompt at the start of every chat is
evaluated once: its KV cache is reused across questions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.settings import Settings
from inference.chat import ChatModel, ChatStream
from inference.registry import model_cache, resolve_llm, verify_checksum


class LocalLLM:
    """A GGUF chat model on the CPU."""

    def __init__(self, path: Path, *, context: int, threads: int, temperature: float, max_tokens: int) -> None:
        """Load the model.

        Raises:
            ModelError: llama.cpp cannot load the file.
        """
        from llama_cpp import Llama

        try:
            self._llm = Llama(
                model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads,
                n_batch=512, verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"cannot load LLM {path}: {exc}") from exc
        self.path = path
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The GGUF file's name."""
        return self.path.name

    @property
    def max_tokens(self) -> int:
        """The configured cap on generated tokens (``llm_max_tokens``)."""
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in this model's vocabulary."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> ChatStream:
        """The reply as a stream of tokens; the stream's ``timings`` hold its figures once it is read.

        One reply at a time runs on the model (a lock held while the stream is read).

        Raises:
            ModelError: (while iterating) generation failed, e.g. the prompt exceeds the context.
        """
        return ChatStream(lambda stream: self._generate(stream, messages, max_tokens))

    def _generate(self, stream: ChatStream, messages: list[dict[str, str]], max_tokens: int | None,
                  ) -> Iterator[str]:
        with self._lock:
            started = time.perf_counter()
            first: float | None = None
            n = 0
            try:
                chunks: Any = self._llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]  # plain role/content dicts are what it takes
                    stream=True, temperature=self._temperature, max_tokens=max_tokens or self._max_tokens,
                )
                for chunk in chunks:
                    delta = chunk["choices"][0]["delta"].get("content")
                    if not delta:
                        continue
                    if first is None:
                        first = time.perf_counter()
                    n += 1
                    yield delta
            except ValueError as exc:
                raise ModelError(f"generation failed: {exc}") from exc
            done = time.perf_counter()
            gen_time = done - (first or done)
            stream.timings = {
                "ttft_s": (first or done) - started,
                "tokens": float(n),
                # the context holds the prompt (its cached prefix included) and the reply's tokens but the last
                "prompt_tokens": float(max(0, int(self._llm.n_tokens) - max(0, n - 1))),
                "tokens_per_s": (n - 1) / gen_time if n > 1 and gen_time > 0 else 0.0,
                "total_s": done - started,
            }


def load_llm(settings: Settings) -> ChatModel:
    """The LLM the settings name: in this process, checksum-verified when ``llm_sha256`` is set, or the pool of
    servers of ``llm_endpoints`` when ``llm_backend = openai``.

    Raises:
        ConfigError: no model file.
        ChecksumMismatchError, ModelError: wrong or unloadable file; no endpoint.
    """
    if settings.llm_backend == "openai":
        from inference.remote_llm import EndpointPool, RemoteLLM

        return RemoteLLM(EndpointPool(list(settings.llm_endpoints), settings.llm_endpoint_cooldown_s),
                         model=settings.llm_endpoint_model, temperature=settings.llm_temperature,
                         max_tokens=settings.llm_max_tokens, timeout_s=settings.llm_endpoint_timeout_s)
    path = resolve_llm(settings.llm_model, settings.llm_model_path, model_cache(settings))
    verify_checksum(path, settings.llm_sha256)
    return LocalLLM(path, context=settings.llm_context, threads=settings.threads,
                    temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens)
