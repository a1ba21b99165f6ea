"""Embedding migration over HTTP (admin): the vector spaces, a ``migrate`` job gated on the collection's golden set,
the running app answering from the new vectors within seconds, rollback; readers are refused."""

from __future__ import annotations

import time
from pathlib import Path

from inference.reexport import reexport
from inference.registry import resolve_embedding_model
from service.registry import SPACE_CHECK_S
from tests.api.conftest import BETA_DOCS, Harness

ORIGINAL = "all-MiniLM-L6-v2"


def _model_of_answers(harness: Harness) -> str:
    res = harness.client.post("/v1/collections/emb/retrieve", json={"question": "Who founded Orvane?"},
                              headers=harness.h("admin"))
    assert res.status_code == 200, res.text
    return str(res.json()["embedding_model"])


def test_migrate_as_a_job_then_roll_back(harness: Harness, tmp_path: Path) -> None:
    admin = harness.h("admin")
    assert harness.client.post("/v1/collections", json={"name": "emb"}, headers=admin).status_code == 201
    try:
        job = harness.client.post("/v1/collections/emb/documents", json={"documents": BETA_DOCS}, headers=admin)
        assert harness.wait_job("emb", job.json()["id"])["state"] == "succeeded"
        spaces = harness.client.get("/v1/collections/emb/embeddings", headers=admin).json()
        assert spaces["active"] == "" and spaces["spaces"][""]["name"] == ORIGINAL
        assert harness.client.post("/v1/collections/emb/embeddings/rollback", headers=admin).status_code == 409
        assert _model_of_answers(harness) == ORIGINAL

        model = str(reexport(resolve_embedding_model(ORIGINAL), tmp_path / "minilm-fp16"))
        refused = harness.client.post("/v1/collections/emb/embeddings/migrate", json={"model": model},
                                      headers=harness.h("reader_beta"))
        assert refused.status_code == 403
        ungated = harness.client.post("/v1/collections/emb/embeddings/migrate", json={"model": model}, headers=admin)
        assert ungated.status_code == 202 and ungated.json()["kind"] == "migrate"
        failed = harness.wait_job("emb", ungated.json()["id"])
        assert failed["state"] == "failed" and "golden set" in failed["error"]

        bad = harness.client.put("/v1/collections/emb/golden", json=[{"question": "no passages"}], headers=admin)
        assert bad.status_code == 400 and "item 0" in bad.text
        assert harness.client.get("/v1/collections/emb/golden", headers=admin).json() == {"questions": 0}
        paragraph = {"title": BETA_DOCS[0]["title"], "paragraph_text": BETA_DOCS[0]["text"], "is_supporting": True}
        golden = [{"id": "g1", "question": "Who founded Orvane Mining?", "answer": "Petra Lindqvist",
                   "paragraphs": [paragraph]}]
        put = harness.client.put("/v1/collections/emb/golden", json=golden, headers=admin)
        assert put.status_code == 200 and put.json() == {"questions": 1}, put.text
        gated = harness.client.post("/v1/collections/emb/embeddings/migrate", json={"model": model, "force": True},
                                    headers=admin)  # the gate runs and reports; forced: timing noise never decides
        done = harness.wait_job("emb", gated.json()["id"], timeout=300)
        assert done["state"] == "succeeded", done
        report = done["report"]
        assert report["switched"] and report["chunks_written"] >= len(BETA_DOCS)
        assert set(report["gate"]) == {"current", "candidate"}
        spaces = harness.client.get("/v1/collections/emb/embeddings", headers=admin).json()
        assert spaces["active"] == report["space"] and spaces["previous"] == ""
        assert spaces["spaces"][report["space"]]["state"] == "ready"
        time.sleep(SPACE_CHECK_S + 0.5)
        assert _model_of_answers(harness) == model

        back = harness.client.post("/v1/collections/emb/embeddings/rollback", headers=admin)
        assert back.status_code == 200 and back.json()["model"] == ORIGINAL, back.text
        time.sleep(SPACE_CHECK_S + 0.5)
        assert _model_of_answers(harness) == ORIGINAL
        metrics = harness.client.get("/metrics", headers=admin).text
        for embedder in (ORIGINAL, model):  # per model: top dense scores, and drift once golden.json exists
            assert f'hopgraph_retrieval_top_dense_score_count{{embedder="{embedder}"}}' in metrics
            assert f'hopgraph_query_golden_similarity_count{{embedder="{embedder}"}}' in metrics
        audit = harness.client.get("/v1/collections/emb/audit", headers=admin).json()
        actions = {e["action"] for e in (audit["entries"] if isinstance(audit, dict) else audit)}
        assert {"model.migrate", "model.rollback", "golden.replace"} <= actions

        # a reader promotion as a job, gated on the same golden set (forced: the point is the job), rolled back
        assert harness.client.post("/v1/models/embedder/promote", json={"name": "x", "collection": "emb"},
                                   headers=admin).status_code == 400
        queued = harness.client.post("/v1/models/reader/promote",
                                     json={"name": "smollm2-135m", "collection": "emb", "force": True}, headers=admin)
        assert queued.status_code == 202 and queued.json()["kind"] == "promote", queued.text
        promoted = harness.wait_job("emb", queued.json()["id"], timeout=300)
        assert promoted["state"] == "succeeded" and promoted["report"]["promoted"], promoted
        assert set(promoted["report"]["figures"]) == {promoted["report"]["current"], promoted["report"]["candidate"]}
        assert harness.client.post("/v1/models/reader/rollback", headers=admin).status_code == 200
    finally:
        harness.client.delete("/v1/collections/emb", headers=admin)
