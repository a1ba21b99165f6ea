"""hopgraph from the ecosystem's side, against a real ``hopgraph serve`` on loopback: the official ``openai``
client (a client nobody here wrote) on the OpenAI-compatible chat endpoint, streaming and not, and a LlamaIndex
query engine over ``HopgraphRetriever``, over HTTP and in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.no_text import NoText

from api.llamaindex import HopgraphRetriever
from core.errors import AccessDeniedError, InputError, NotFoundError
from core.settings import load_settings
from service import collections
from service.context import AppContext
from tests.api.conftest import sample_files
from tests.api.test_server_e2e import Server, _env, _serve, _wait
from tests.conftest import run_cli

QUESTION = "Who owns Baltia Lines?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server holding the sample corpus in collection ``docs``, with an admin key and a reader key for it and
    one for another collection."""
    with _serve(tmp_path_factory.mktemp("eco") / "data", _env(model_cache)) as srv:
        keys = {}
        for name, args in (("admin", ["--role", "admin"]), ("reader", ["--role", "reader", "--collections", "docs"]),
                           ("other", ["--role", "reader", "--collections", "elsewhere"])):
            made = run_cli("keys", "create", *args, data_dir=srv.data, env=srv.env, timeout=120)
            assert made.returncode == 0, made.stderr
            keys[name] = made.stdout.strip()
        admin = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=120)
        assert admin.post("/v1/collections", json={"name": "docs"}).status_code == 201
        job = admin.post("/v1/collections/docs/documents", files=sample_files()).json()
        assert _wait(admin, "docs", job["id"])["state"] == "succeeded"
        yield srv, keys


def test_openai_client_chats_with_a_collection(served: tuple[Server, dict[str, str]]) -> None:
    srv, keys = served
    client = openai.OpenAI(base_url=f"{srv.url}/openai/v1", api_key=keys["reader"], max_retries=0, timeout=120)
    assert [m.id for m in client.models.list()] == ["hopgraph:docs"]

    messages: list[dict[str, str]] = [{"role": "system", "content": "ignored"}, {"role": "user", "content": QUESTION}]
    done = client.chat.completions.create(model="hopgraph:docs", messages=messages)  # type: ignore[arg-type]
    text = done.choices[0].message.content
    assert done.object == "chat.completion" and done.model == "hopgraph:docs" and text
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None and done.usage.completion_tokens > 0 and done.usage.prompt_tokens > 0
    extra = done.model_extra["hopgraph"]  # type: ignore[index]
    assert extra["retrieval"]["passages"] and set(extra) >= {"citations", "supported", "unsupported", "steps"}
    assert {c["chunk_id"] for c in extra["citations"]} <= {p["chunk_id"] for p in extra["retrieval"]["passages"]}

    stream = client.chat.completions.create(model="hopgraph:docs", messages=messages, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed.strip() and chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["hopgraph"]["retrieval"]["passages"]  # type: ignore[index]
    final = chunks[-1].model_extra["hopgraph"]  # type: ignore[index]
    assert final["citations"] == extra["citations"]  # temperature 0: the same answer either way

    with pytest.raises(openai.BadRequestError, match="hopgraph:<collection>"):
        client.chat.completions.create(model="GPT 4!", messages=messages)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="user message"):
        client.chat.completions.create(model="hopgraph:docs", messages=[{"role": "system", "content": "x"}])
    with pytest.raises(openai.NotFoundError):  # a collection the key does not cover does not exist for it
        client.chat.completions.create(model="hopgraph:elsewhere", messages=messages)  # type: ignore[arg-type]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{srv.url}/openai/v1", api_key="nope", max_retries=0).models.list()
    alias = openai.OpenAI(base_url=f"{srv.url}/v1", api_key=keys["reader"], max_retries=0, timeout=120)
    assert alias.chat.completions.create(model="hopgraph:docs", messages=messages  # type: ignore[arg-type]
                                         ).choices[0].message.content == text

    usage = httpx.get(f"{srv.url}/v1/collections/docs/usage", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert usage.status_code == 200 and usage.json()["requests_by_endpoint"]["query"] >= 3  # charged to docs


def _engine(retriever: HopgraphRetriever) -> RetrieverQueryEngine:
    # "no_text": the engine hands back the retrieved nodes and never calls an LLM (a user's LlamaIndex LLM would
    # write the answer from them); LlamaIndex's placeholder only keeps it from looking for OpenAI's
    # (get_response_synthesizer drops the llm for "no_text", so the synthesizer is made here)
    return RetrieverQueryEngine(retriever, response_synthesizer=NoText(llm=MockLLM()))


def test_llamaindex_query_engine_over_http_and_in_process(served: tuple[Server, dict[str, str]],
                                                          model_cache: Path) -> None:
    srv, keys = served
    remote = HopgraphRetriever(url=srv.url, api_key=keys["reader"], collection="docs", k=4)
    response = _engine(remote).query("Who founded the company that acquired Corvel Robotics?")
    nodes = response.source_nodes
    assert len(nodes) == 4 and nodes[0].score is not None and nodes[0].score >= nodes[-1].score  # type: ignore[operator]
    assert any(n.node.metadata["title"] == "Corvel Robotics" for n in nodes)
    assert any(n.node.metadata["paths"] for n in nodes) and all("dense" in n.node.metadata["scores"] or
                                                               "keyword" in n.node.metadata["scores"] or
                                                               "graph" in n.node.metadata["scores"] for n in nodes)
    node = nodes[0].node
    assert len(node.get_content()) > 20 and node.metadata["end"] > node.metadata["start"]  # the passage and its span

    settings = collections.collection_settings(
        load_settings(None, data_dir=srv.data, model_cache_dir=model_cache), "docs")
    app = AppContext(settings)
    try:
        local = _engine(HopgraphRetriever(app=app, k=4)).query("Who founded the company that acquired Corvel Robotics?")
        assert [n.node.node_id for n in local.source_nodes] == [n.node.node_id for n in nodes]
    finally:
        app.close()

    with pytest.raises(NotFoundError):
        HopgraphRetriever(url=srv.url, api_key=keys["reader"], collection="elsewhere").retrieve("x")
    with pytest.raises(AccessDeniedError):
        HopgraphRetriever(url=srv.url, api_key="nope", collection="docs").retrieve("x")
    with pytest.raises(InputError):
        HopgraphRetriever(url=srv.url, api_key=keys["reader"], collection="docs").retrieve("   ")
    with pytest.raises(InputError):
        HopgraphRetriever()
