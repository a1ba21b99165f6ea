"""The model registry over HTTP (admin only; changes audited)."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Harness


def test_admins_list_and_add_models(harness: Harness, tmp_path: Path) -> None:
    c = harness.client
    listed = c.get("/v1/models", headers=harness.h("admin"))
    assert listed.status_code == 200
    assert any(m["kind"] == "embedder" and m["name"] == "all-MiniLM-L6-v2" for m in listed.json())
    gguf = tmp_path / "site-reader.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 32)
    added = c.post("/v1/models", json={"kind": "reader", "path": str(gguf), "licence": "MIT"},
                   headers=harness.h("admin"))
    assert added.status_code == 201, added.text
    assert added.json()["name"] == "site-reader.gguf" and added.json()["version"] == 1
    gguf.write_bytes(b"GGUF" + b"\1" * 32)
    again = c.post("/v1/models", json={"kind": "reader", "path": str(gguf)}, headers=harness.h("admin")).json()
    assert again["version"] == 2 and again["sha256"] != added.json()["sha256"]
    audit = c.get("/v1/audit", headers=harness.h("admin")).json()
    assert [a["target"] for a in audit if a["action"] == "model.add"][:2] == ["reader:site-reader.gguf"] * 2
    missing = c.post("/v1/models", json={"kind": "reader", "path": str(tmp_path / "absent.gguf")},
                     headers=harness.h("admin"))
    assert missing.status_code == 400 and "no model at" in missing.json()["detail"]
    assert c.post("/v1/models", json={"kind": "reranker", "path": str(gguf)},
                  headers=harness.h("admin")).status_code in (400, 422)
    assert c.get("/v1/models", headers=harness.h("curator_beta")).status_code == 403


def test_rollback_over_http_needs_a_promotion(harness: Harness) -> None:
    res = harness.client.post("/v1/models/reader/rollback", headers=harness.h("admin"))
    assert res.status_code == 409 and "nothing to roll back" in res.json()["detail"]
    assert harness.client.post("/v1/models/reranker/rollback", headers=harness.h("admin")).status_code == 422
    assert harness.client.post("/v1/models/reader/rollback", headers=harness.h("reader_beta")).status_code == 403
