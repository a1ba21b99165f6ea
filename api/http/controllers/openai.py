"""The OpenAI-compatible face: chat completions answered by a collection, and the collections as models.

A client made for OpenAI's API talks to hopgraph with ``base_url=http://HOST:PORT/openai/v1`` and an
API key as its key: the model is the collection (``hopgraph:<collection>``), the last user message is
the question, the reply is the cited answer; ``stream: true`` streams the tokens as
``chat.completion.chunk`` events ending with ``data: [DONE]``. What OpenAI's format has no field for
(citations, the passages read, the support flags, the reading steps) rides along in an extra
``hopgraph`` object. ``POST /v1/chat/completions`` is the same handler for clients configured with
``/v1`` (``GET /v1/models`` there is the model registry, hence the ``/openai/v1`` prefix for the list).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.http.auth import caller, requires
from api.http.controllers.questions import run_retrieval
from api.http.deps import RuntimeDep, provide_collection, provide_reading
from api.http.metrics import COLLECTION_STATE, request_usage
from api.http.problems import problem_body
from api.http.runtime import Runtime
from api.http.schemas_openai import ChatRequest
from api.http.streaming import record_generation, stream_answer
from api.shapes import answer_out
from core.errors import HopgraphError, InputError
from service import collections, questions
from service.types import Answer, RetrievalResult
from service.usage import Usage
from service.views import Reading

MODEL_PREFIX = "hopgraph:"


def collection_of(model: str) -> str:
    """The collection a model name names: ``hopgraph:<collection>`` (or the bare collection name).

    Raises:
        InputError: not a collection name.
    """
    name = model[len(MODEL_PREFIX):] if model.startswith(MODEL_PREFIX) else model
    try:
        return collections.validate_name(name)
    except InputError as exc:
        raise InputError(f"model must be 'hopgraph:<collection>', not {model!r}") from exc


def question_of(data: ChatRequest) -> str:
    """The last user message's text.

    Raises:
        InputError: no user message, or one with no text.
    """
    for message in reversed(data.messages):
        if message.role != "user":
            continue
        content = message.content
        if isinstance(content, list):  # content parts: keep the text ones
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict)
                               and p.get("type") == "text")
        if content and content.strip():
            return content.strip()
        break
    raise InputError("messages must end with a user message holding the question")


def _extra(answer: Answer, usage: Usage) -> dict[str, Any]:
    """hopgraph's own fields: citations, passages, support, steps."""
    full: dict[str, Any] = msgspec.to_builtins(answer_out(answer, usage))
    keep = ("supported", "unsupported", "no_answer", "citations", "removed_citations", "facts", "steps", "retrieval")
    return {k: full[k] for k in keep}


def _usage(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> ServerSentEventMessage:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return ServerSentEventMessage(data=msgspec.json.encode(body).decode())


async def _chunks(runtime: Runtime, reading: Reading, result: RetrievalResult, usage: Usage, model: str,
                  ) -> AsyncIterator[ServerSentEventMessage]:
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    yield _chunk(cid, created, model, {"role": "assistant", "content": ""})
    try:
        async for item in stream_answer(runtime, reading, result, usage):
            if isinstance(item, str):
                yield _chunk(cid, created, model, {"content": item})
            else:
                yield _chunk(cid, created, model, {}, "stop", usage=_usage(usage), hopgraph=_extra(item, usage))
    except HopgraphError as exc:  # after the stream started: one error object, as OpenAI's API sends them
        problem = problem_body(exc)
        yield ServerSentEventMessage(data=msgspec.json.encode(
            {"error": {"message": problem["detail"], "type": problem["title"], "code": problem["status"]}}).decode())
    yield ServerSentEventMessage(data="[DONE]")


class OpenAIController(Controller):
    """Chat completions over a collection, for clients written for OpenAI's API."""

    path = "/openai/v1"
    tags = ["openai-compatible"]

    @get("/models", guards=[requires("reader")], summary="The collections this key may ask, as models")
    async def list_models(self, request: Request[Any, Any, Any], runtime: RuntimeDep) -> dict[str, Any]:
        """OpenAI's model list: one ``hopgraph:<collection>`` per collection the key covers."""
        key = caller(request)
        names = await runtime.work.quick(collections.names, runtime.settings)
        return {"object": "list", "data": [{"id": MODEL_PREFIX + n, "object": "model", "created": 0,
                                            "owned_by": "hopgraph"} for n in names if key.sees(n)]}

    @post("/chat/completions", guards=[requires("reader")], status_code=200, summary="Answer as a chat completion")
    async def chat(self, data: JSONBody[ChatRequest], request: Request[Any, Any, Any],
                   runtime: RuntimeDep) -> Response[Any]:
        """The collection named by ``model`` answers the last user message with the local reader (citations and
        passages in ``hopgraph``); ``stream: true`` streams ``chat.completion.chunk`` events, then ``[DONE]``."""
        return await answer_chat(data, request, runtime)


class ChatAliasController(Controller):
    """``POST /v1/chat/completions``: the same, for clients whose base URL is ``/v1``."""

    path = "/v1/chat"
    tags = ["openai-compatible"]

    @post("/completions", guards=[requires("reader")], status_code=200, summary="Answer as a chat completion")
    async def chat(self, data: JSONBody[ChatRequest], request: Request[Any, Any, Any],
                   runtime: RuntimeDep) -> Response[Any]:
        """As ``POST /openai/v1/chat/completions``."""
        return await answer_chat(data, request, runtime)


async def answer_chat(data: ChatRequest, request: Request[Any, Any, Any], runtime: Runtime) -> Response[Any]:
    """Answer a chat request (plain or streamed)."""
    name, question = collection_of(data.model), question_of(data)
    collection = await provide_collection(name, request, runtime)  # as for /v1/collections/{c}: 404 if not the key's
    request.scope.setdefault("state", {})[COLLECTION_STATE] = name  # charged to the collection
    reading = await provide_reading(collection, request)
    usage = request_usage(request.scope)
    result = await run_retrieval(runtime, reading, usage, question, data.mode, data.k)
    model = MODEL_PREFIX + name
    if data.stream:
        return ServerSentEvent(_chunks(runtime, reading, result, usage, model),
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    answer = await runtime.work.generate(runtime.cpu.metered(
        usage, partial(questions.answer, reading.answerer, result)))
    record_generation(runtime, answer, usage)
    return Response({
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        "usage": _usage(usage), "hopgraph": _extra(answer, usage),
    })
