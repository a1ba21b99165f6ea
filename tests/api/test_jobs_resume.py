"""Ingest jobs survive shutdowns: an interrupted job resumes on the next start and completes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from litestar.testing import TestClient

from api.http.app import create_app
from core.settings import Settings
from graph.embedded.database import EmbeddedDatabase
from service.jobs import JobStore
from service.serverdb import ServerDB, server_db_path
from tests.api.conftest import api_settings
from tests.conftest import MUSIQUE

PASSAGES = 96


def _documents(settings: Settings) -> int:
    db = EmbeddedDatabase(settings.data_dir / "collections" / "big" / "hopgraph.db")
    try:
        return int(db.query("SELECT COUNT(*) FROM documents")[0][0])
    finally:
        db.close()


def _job(settings: Settings, job_id: str) -> dict[str, object]:
    db = ServerDB(server_db_path(settings.data_dir))
    try:
        job = JobStore(db).get("big", job_id)
        return {"state": job.state, "done": job.done, "report": job.report, "documents": job.documents}
    finally:
        db.close()


def test_shutdown_interrupts_a_job_and_restart_completes_it(tmp_path: Path, model_cache: Path) -> None:
    settings = api_settings(tmp_path / "data", model_cache, write_batch_documents=8, api_shutdown_grace_s=0,
                            api_preload_models=False, api_auth=False)
    corpus = json.loads((MUSIQUE / "corpus.json").read_text())[:PASSAGES]
    files = tmp_path / "data" / "collections" / "big" / "files"
    files.mkdir(parents=True)
    (files / "musique.json").write_text(json.dumps(corpus))
    db = ServerDB(server_db_path(settings.data_dir))
    job_id = JobStore(db).create("big", ["files/musique.json"], [], None).id  # queued while no server runs
    db.close()

    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while True:  # wait for some batches to commit, then shut down mid-job
            state = client.get(f"/v1/collections/big/jobs/{job_id}").json()
            if state["state"] == "running" and state["progress"]["done"] >= 16:
                break
            assert state["state"] in ("queued", "running") and time.monotonic() < deadline, state
            time.sleep(0.05)
    interrupted = _job(settings, job_id)
    stored = _documents(settings)
    assert interrupted["state"] == "interrupted", interrupted
    assert 16 <= stored < PASSAGES and stored % 8 == 0  # whole batches only

    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while (state := client.get(f"/v1/collections/big/jobs/{job_id}").json())["state"] not in ("succeeded",
                                                                                                   "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert state["state"] == "succeeded" and state["attempts"] == 2, state
    assert state["report"]["unchanged"] == stored and state["report"]["documents"] == PASSAGES - stored
    assert _documents(settings) == PASSAGES and len(state["documents"]) == PASSAGES


def test_cancel_a_queued_and_a_running_job(tmp_path: Path, model_cache: Path) -> None:
    settings = api_settings(tmp_path / "data", model_cache, write_batch_documents=8, api_preload_models=False,
                            api_auth=False)
    corpus = json.loads((MUSIQUE / "corpus.json").read_text())[:PASSAGES]
    files = tmp_path / "data" / "collections" / "big" / "files"
    files.mkdir(parents=True)
    (files / "musique.json").write_text(json.dumps(corpus))
    (files / "small.txt").write_text("Tarmo Kivi founded Saaremaa Cables in Kuressaare.")
    db = ServerDB(server_db_path(settings.data_dir))
    store = JobStore(db)
    big = store.create("big", ["files/musique.json"], [], None).id
    small = store.create("big", ["files/small.txt"], [], None).id
    db.close()
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while client.get(f"/v1/collections/big/jobs/{big}").json()["progress"]["done"] < 8:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        queued = client.delete(f"/v1/collections/big/jobs/{small}")
        assert queued.status_code == 200 and queued.json()["state"] == "cancelled"
        assert client.delete(f"/v1/collections/big/jobs/{big}").status_code == 200
        while (state := client.get(f"/v1/collections/big/jobs/{big}").json())["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert state["state"] == "cancelled"
        assert client.delete(f"/v1/collections/big/jobs/{big}").status_code == 409
        assert client.delete("/v1/collections/big/jobs/nope").status_code == 404
    stored = _documents(settings)
    assert 8 <= stored < PASSAGES and stored % 8 == 0  # the batches it committed stay
