"""The reader on a pool of two real OpenAI-compatible llama.cpp servers (deploy/inference.sh, the fast reader):
requests spread over both; a server killed between requests or in the middle of a streamed reply costs no
answer; the pool's state shows in readiness and metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ModelError
from core.settings import Settings
from inference.llm import load_llm
from inference.remote_llm import EndpointPool, RemoteLLM
from service.context import AppContext
from tests.conftest import ROOT, SAMPLES

SCRIPT = ROOT / "deploy" / "inference.sh"
CHAT = [{"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "Name three colours of the rainbow."}]


def _free_port_pair() -> int:
    """A port p with p and p + 1 free on loopback."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[tuple[list[str], Path]]:
    run = tmp_path_factory.mktemp("inference")
    env = {**os.environ, "HOPGRAPH_SERVICES_DIR": str(run), "HOPGRAPH_INFERENCE_PORT": str(_free_port_pair()),
           "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_DATA_DIR": str(run / "data")}
    started = subprocess.run(["bash", str(SCRIPT), "start", "2", "fast"], env=env, capture_output=True, text=True,
                             timeout=300)
    try:
        assert started.returncode == 0, started.stderr
        settings = dict(line.removeprefix("export ").split("=", 1)
                        for line in (run / "inference.env").read_text().splitlines())
        assert settings["HOPGRAPH_LLM_BACKEND"] == "openai"
        yield settings["HOPGRAPH_LLM_ENDPOINTS"].split(","), run
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


DEAD = f"http://127.0.0.1:{_free_port_pair()}/v1"  # nothing listens there


def _pid(run: Path, url: str) -> int:
    port = url.rsplit(":", 1)[1].split("/")[0]
    return int((run / "run" / f"inference-{port}.pid").read_text())


def _restart(run: Path, model_cache: Path, urls: list[str]) -> None:
    port = int(urls[0].rsplit(":", 1)[1].split("/")[0])
    env = {**os.environ, "HOPGRAPH_SERVICES_DIR": str(run), "HOPGRAPH_INFERENCE_PORT": str(port),
           "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_DATA_DIR": str(run / "data")}
    again = subprocess.run(["bash", str(SCRIPT), "start", "2", "fast"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr


def test_replies_spread_over_the_pool_and_match_greedy_decoding(servers: tuple[list[str], Path]) -> None:
    urls, _run = servers
    llm = RemoteLLM(EndpointPool(urls, cooldown_s=30), max_tokens=32)
    try:
        replies = ["".join(llm.stream_chat(CHAT)) for _ in range(4)]
        assert replies[0].strip() and len(set(replies)) == 1  # temperature 0: the same reply from either server
        assert [s.requests for s in llm.pool.snapshot()] == [2, 2]
        stream = llm.stream_chat(CHAT)
        text = "".join(stream)
        assert text == replies[0]
        assert stream.timings["tokens"] >= 1 and stream.timings["ttft_s"] > 0 and stream.timings["total_s"] > 0
    finally:
        llm.close()


def test_a_killed_server_costs_no_answer(servers: tuple[list[str], Path], model_cache: Path) -> None:
    urls, run = servers
    reference = RemoteLLM(EndpointPool(urls[1:]), max_tokens=32)
    expected = "".join(reference.stream_chat(CHAT))
    reference.close()
    llm = RemoteLLM(EndpointPool(urls, cooldown_s=60), max_tokens=32, timeout_s=20)
    try:
        # killed mid-stream: the first request goes to the first server; kill it after the first piece
        stream = iter(llm.stream_chat(CHAT))
        pieces = [next(stream)]
        os.kill(_pid(run, urls[0]), signal.SIGKILL)
        pieces.extend(stream)
        assert "".join(pieces) == expected  # completed on the other server, nothing repeated or lost
        state = llm.pool.snapshot()
        assert not state[0].up and state[0].failures == 1 and state[1].up
        # the next requests go to the server that is up, without waiting on the dead one
        for _ in range(3):
            assert "".join(llm.stream_chat(CHAT)) == expected
        assert llm.pool.snapshot()[0].requests == 1
    finally:
        llm.close()
        _restart(run, model_cache, urls)


def test_every_server_down_is_a_clear_error() -> None:
    dead = [f"http://127.0.0.1:{_free_port_pair()}/v1"]
    llm = RemoteLLM(EndpointPool(dead), max_tokens=8, timeout_s=5)
    try:
        with pytest.raises(ModelError, match="no reader server answered"):
            "".join(llm.stream_chat(CHAT))
    finally:
        llm.close()
    with pytest.raises(ModelError, match="llm_endpoints"):
        EndpointPool([])


def test_answers_through_the_pool_end_to_end(servers: tuple[list[str], Path], settings: Settings) -> None:
    urls, _run = servers
    pooled = settings.model_copy(update={"llm_backend": "openai", "llm_endpoints": urls, "threads": 1})
    assert isinstance(load_llm(pooled), RemoteLLM)
    app = AppContext(pooled)
    try:
        assert app.pipeline().run([SAMPLES]).ok
        result = app.retriever.retrieve("Who founded Baltia Lines?", "hybrid", 5)
        answer = app.answerer.generate(result)
        assert answer.mode == "llm" and answer.text and answer.steps
        assert answer.timings.get("tokens", 0) >= 1
    finally:
        app.close()


def test_readiness_and_metrics_show_the_servers(servers: tuple[list[str], Path], tmp_path: Path,
                                                model_cache: Path) -> None:
    from litestar.testing import TestClient

    from api.http.app import create_app
    from tests.api.conftest import api_settings, make_keys

    urls, _run = servers
    settings = api_settings(tmp_path / "data", model_cache, llm_backend="openai", llm_endpoints=[*urls, DEAD])
    keys = make_keys(settings)
    with TestClient(create_app(settings)) as client:
        admin = {"Authorization": f"Bearer {keys['admin']}"}
        assert client.post("/v1/collections", json={"name": "c"}, headers=admin).status_code == 201
        doc = {"title": "Baltia Lines", "text": "Baltia Lines is a ferry company. Ilse Marnik founded Baltia Lines."}
        job = client.post("/v1/collections/c/documents", json={"documents": [doc]}, headers=admin).json()
        deadline = time.monotonic() + 120
        while client.get(f"/v1/collections/c/jobs/{job['id']}", headers=admin).json()["state"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        for _ in range(3):  # the dead server is tried once, then left out
            res = client.post("/v1/collections/c/query", json={"question": "Who founded Baltia Lines?"},
                              headers=admin)
            assert res.status_code == 200 and res.json()["mode"] == "llm", res.text
        ready = client.get("/readyz").json()
        state = ready["checks"]["reader_endpoints"]
        assert f"{urls[0]} up" in state and f"{urls[1]} up" in state and f"{DEAD} down: ConnectError" in state
        metrics = client.get("/metrics").text
        assert f'hopgraph_reader_endpoint_up{{endpoint="{DEAD}"}} 0' in metrics
        assert f'hopgraph_reader_endpoint_up{{endpoint="{urls[0]}"}} 1' in metrics
        assert f'hopgraph_reader_endpoint_failures_total{{endpoint="{DEAD}"}} 1' in metrics
