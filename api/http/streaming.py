"""Streaming an LLM answer as Server-Sent Events: ``token`` events, then one ``answer`` event.

The LLM runs in a generation thread and hands each token to the event loop
(``call_soon_threadsafe``); a failure after the stream started becomes one
``error`` event carrying a problem-details object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import msgspec
from litestar.response import ServerSentEventMessage

from api.http.problems import problem_body
from api.http.runtime import Runtime
from api.shapes import answer_out, answer_outcome, answer_usage
from core.errors import HopgraphError
from service.types import Answer, RetrievalResult
from service.usage import Usage
from service.views import Reading

log = logging.getLogger("hopgraph.api")
_END = object()


def record_generation(runtime: Runtime, answer: Answer, usage: Usage) -> None:
    """Count the tokens, time and outcome of a generated answer, and add them to the request's ``usage``."""
    usage.add(answer_usage(answer))
    runtime.metrics.answers.inc(answer_outcome(answer))
    runtime.metrics.model_answers.inc(runtime.models.reader_name(), answer_outcome(answer))
    if answer.timings:
        runtime.metrics.generation.observe(answer.timings.get("total_s", 0.0))
        runtime.metrics.tokens.inc(amount=answer.timings.get("tokens", 0.0))


async def stream_answer(runtime: Runtime, reading: Reading, result: RetrievalResult, usage: Usage,
                        ) -> AsyncIterator[str | Answer]:
    """The tokens of one generated answer as they come, then the answer itself (counted and charged).

    Raises:
        HopgraphError: generation failed (after some tokens, perhaps).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def on_token(token: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, token)

    def generate() -> Answer:
        try:
            return reading.answerer.generate(result, on_token=on_token)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    task = asyncio.ensure_future(runtime.work.generate(runtime.cpu.metered(usage, generate)))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():  # the task ended before the thread ran (e.g. cancelled while queued)
                getter.cancel()
                break
            item = getter.result()
            if item is _END:
                break
            assert isinstance(item, str)
            yield item
        answer = await task
    finally:
        if not task.done():  # the client went away: let generation finish in its thread, quietly
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
    record_generation(runtime, answer, usage)
    yield answer


async def answer_events(runtime: Runtime, reading: Reading, result: RetrievalResult, usage: Usage,
                        ) -> AsyncIterator[ServerSentEventMessage]:
    """The events of one streamed answer: ``token`` events, then one ``answer`` (or one ``error``) event."""
    try:
        async for item in stream_answer(runtime, reading, result, usage):
            if isinstance(item, str):
                yield ServerSentEventMessage(data=json.dumps({"text": item}), event="token")
            else:
                yield ServerSentEventMessage(data=msgspec.json.encode(answer_out(item, usage)).decode(),
                                             event="answer")
    except HopgraphError as exc:
        yield ServerSentEventMessage(data=json.dumps(problem_body(exc)), event="error")
