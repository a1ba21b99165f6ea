"""Migrating a served collection's vectors to another embedding model while queries run (Neo4j + Weaviate, a real
``hopgraph serve``, the real embedder and a re-exported copy of it): no query fails, each response comes from one
model, a SIGKILL mid-migration is resumed by a rerun, ingest meanwhile lands in both spaces, the server switches
within seconds and rolls back as fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from graph.ontology import load_ontology
from graph.spaces import load_spaces
from graph.store import open_store, open_vector_space
from inference.reexport import reexport
from inference.registry import resolve_embedding_model
from service import collections
from service.registry import SPACE_CHECK_S
from tests.api.test_server_e2e import _serve
from tests.conftest import MUSIQUE, ROOT, run_cli
from tests.contract.conftest import neo4j_available, unique_prefix, weaviate_available  # noqa: F401 - fixtures

ORIGINAL = "all-MiniLM-L6-v2"


class Load:
    """A client thread posting /retrieve in a loop, keeping every status and embedding model seen."""

    def __init__(self, client: httpx.Client, questions: list[str]) -> None:
        self.client, self.questions = client, questions
        self.seen: list[tuple[float, int, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                res = self.client.post("/v1/collections/mig/retrieve", json={"question": self.questions[i % 17]})
                model = res.json().get("embedding_model", "") if res.status_code == 200 else res.text[:200]
                self.seen.append((time.monotonic(), res.status_code, model))
            except httpx.HTTPError as exc:
                self.seen.append((time.monotonic(), 0, repr(exc)))
            i += 1

    def models_since(self, t: float) -> set[str]:
        return {m for at, _s, m in self.seen if at >= t}


def _migrate(data: Path, env: dict[str, str], model: Path, golden: Path) -> subprocess.Popen[str]:
    """The migration CLI; forced (the gate's figures are printed, but a latency gate on four questions under this
    test's query load would decide by noise: the gate itself is tested in tests/unit/test_migration_gate.py)."""
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--data-dir", str(data), "models", "migrate-embeddings", str(model),
         "--collection", "mig", "--golden", str(golden), "--limit", "4", "--force"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.usefixtures("neo4j_available", "weaviate_available")
def test_migration_under_query_load_with_a_kill_and_a_rollback(tmp_path: Path, model_cache: Path) -> None:
    prefix = unique_prefix()
    env = {**os.environ, "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_GRAPH_STORE": "neo4j",
           "HOPGRAPH_VECTOR_STORE": "weaviate", "HOPGRAPH_WEAVIATE_COLLECTION_PREFIX": prefix,
           "HOPGRAPH_NEO4J_LABEL_PREFIX": prefix + "_", "HOPGRAPH_THREADS": "2", "HOPGRAPH_LLM_MODEL": "fast"}
    new_model = reexport(resolve_embedding_model(ORIGINAL), tmp_path / "minilm-fp16")
    questions = json.loads((MUSIQUE / "questions.json").read_text())
    data = tmp_path / "data"
    with _serve(data, env) as srv:
        made = run_cli("keys", "create", "--role", "admin", data_dir=data, env=env, timeout=120)
        assert made.returncode == 0, made.stderr
        admin = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {made.stdout.strip()}"},
                             timeout=60)
        try:
            assert admin.post("/v1/collections", json={"name": "mig"}).status_code == 201
            corpus = json.loads((MUSIQUE / "corpus.json").read_text())
            job = admin.post("/v1/collections/mig/documents", json={"documents": corpus}).json()
            deadline = time.monotonic() + 300
            while admin.get(f"/v1/collections/mig/jobs/{job['id']}").json()["state"] not in ("succeeded", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.5)
            assert admin.get(f"/v1/collections/mig/jobs/{job['id']}").json()["state"] == "succeeded"

            load = Load(httpx.Client(base_url=srv.url, headers=admin.headers, timeout=60),
                        [q["question"] for q in questions])
            load.thread.start()
            time.sleep(2)

            # killed mid-migration: the store keeps answering from the original space
            killed = _migrate(data, env, new_model, MUSIQUE / "questions.json")
            assert killed.stderr is not None
            progress = ""
            while "vectors: " not in progress or progress.rstrip().endswith("vectors: 0"):
                char = killed.stderr.read(1)
                assert char, f"migration ended early: {progress[-2000:]}"
                progress += char
            while not progress.endswith("/"):
                progress += killed.stderr.read(1)
            killed.send_signal(signal.SIGKILL)
            killed.wait(30)
            csettings = collections.collection_settings(Settings(_env_file=None, data_dir=data,  # type: ignore[call-arg]
                                                                 graph_store="neo4j", vector_store="weaviate",
                                                                 weaviate_collection_prefix=prefix,
                                                                 neo4j_label_prefix=prefix + "_"), "mig")
            store = open_store(csettings, load_ontology(None))
            try:
                record = load_spaces(store.graph)
                assert record is not None and record.active == "" and len(record.spaces) == 2
                building = next(s for s in record.spaces if s)
                assert record.spaces[building].state == "building"
            finally:
                store.close()

            # ingest while the new space is half built: the document lands in both spaces
            extra = {"id": "extra", "title": "Brekke Ferry", "text": "The Brekke Ferry sails from Bergen to Solvik."}
            job = admin.post("/v1/collections/mig/documents", json={"documents": [extra]}).json()
            while admin.get(f"/v1/collections/mig/jobs/{job['id']}").json()["state"] not in ("succeeded", "failed"):
                time.sleep(0.3)
            assert admin.get(f"/v1/collections/mig/jobs/{job['id']}").json()["state"] == "succeeded"
            store = open_store(csettings, load_ontology(None))
            shadow = open_vector_space(csettings, building)
            try:
                extra_id = next(d[0] for d in store.graph.snapshot().documents if d[3] == "Brekke Ferry")
                assert extra_id in set(shadow.chunk_docs().values())
                assert extra_id in set(store.vectors.chunk_docs().values())
            finally:
                shadow.close()
                store.close()

            # the rerun completes it and switches; the server follows within seconds
            rerun = _migrate(data, env, new_model, MUSIQUE / "questions.json")
            out, err = rerun.communicate(timeout=600)
            assert rerun.returncode == 0 and "switched to" in out and "| recall@5 |" in out, out + err
            switched = time.monotonic()
            time.sleep(SPACE_CHECK_S + 3)
            assert load.models_since(switched + SPACE_CHECK_S + 1.5) == {str(new_model)}

            back = run_cli("models", "rollback", "embedder", "--collection", "mig", data_dir=data, env=env)
            assert back.returncode == 0 and f"to {ORIGINAL}" in back.stdout, back.stderr
            rolled = time.monotonic()
            time.sleep(SPACE_CHECK_S + 3)
            load.stop.set()
            load.thread.join(60)
            assert load.models_since(rolled + SPACE_CHECK_S + 1.5) == {ORIGINAL}
            statuses = {s for _t, s, _m in load.seen}
            assert statuses == {200}, [x for x in load.seen if x[1] != 200][:5]
            assert {m for _t, _s, m in load.seen} == {ORIGINAL, str(new_model)}
            assert len(load.seen) > 20
        finally:
            admin.delete("/v1/collections/mig")
