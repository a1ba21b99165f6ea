"""Disaster-recovery drills on both profiles, with a real ``hopgraph serve``, real models and (server profile) real
Neo4j and Weaviate: a backup taken while an ingest job commits and queries run, the data wiped, everything
restored; the restored store equals the backup's point row for row and retrieval recall on MuSiQue is identical
(embedded: to the backup's store; server: to the live server's before the wipe, through a backup of it).
Also: a restore over HTTP into a new name, and a SIGKILL during a backup and during a restore."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from graph.copy import compare
from graph.ontology import load_ontology
from graph.store import drop_server_data, open_store
from retrieval.evaluation import evaluate, load_questions
from service import collections
from service.context import AppContext
from tests.api.test_server_e2e import _serve
from tests.conftest import MUSIQUE, ROOT, run_cli
from tests.contract.conftest import neo4j_available, unique_prefix, weaviate_available  # noqa: F401 - fixtures
from tests.e2e.snapshot import check_consistency

MODES = ["dense", "keyword", "graph", "hybrid"]


def _env(profile: str, model_cache: Path) -> tuple[dict[str, str], dict[str, object]]:
    env = {**os.environ, "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_THREADS": "2",
           "HOPGRAPH_LLM_MODEL": "fast", "HOPGRAPH_API_RATE_PER_S": "0", "HOPGRAPH_GRAPH_STORE": "embedded",
           "HOPGRAPH_VECTOR_STORE": "embedded"}
    overrides: dict[str, object] = {"graph_store": "embedded", "vector_store": "embedded"}
    if profile == "server":
        prefix = unique_prefix()
        env |= {"HOPGRAPH_GRAPH_STORE": "neo4j", "HOPGRAPH_VECTOR_STORE": "weaviate",
                "HOPGRAPH_WEAVIATE_COLLECTION_PREFIX": prefix, "HOPGRAPH_NEO4J_LABEL_PREFIX": prefix + "_"}
        overrides = {"graph_store": "neo4j", "vector_store": "weaviate", "weaviate_collection_prefix": prefix,
                     "neo4j_label_prefix": prefix + "_"}
    return env, overrides


def _settings(data: Path, model_cache: Path, overrides: dict[str, object]) -> Settings:
    return Settings(data_dir=data, model_cache_dir=model_cache, store_timeout_s=30.0, threads=2,  # type: ignore[arg-type]
                    **overrides)


def _recall(settings: Settings) -> dict[str, float | None]:
    """Recall@5 of every mode on the MuSiQue slice, over the store of ``settings``."""
    app = AppContext(settings)
    try:
        reports = evaluate(app.retriever, load_questions(MUSIQUE / "questions.json"), MODES)
        return {mode: r.recall[5] for mode, r in reports.items()}
    finally:
        app.close()


def _wait(client: httpx.Client, url: str, timeout: float = 600) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        res = client.get(url)
        assert res.status_code == 200, res.text
        job: dict[str, object] = res.json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


class Load:
    """A client thread posting /retrieve in a loop, keeping every status."""

    def __init__(self, client: httpx.Client, questions: list[str]) -> None:
        self.client, self.questions = client, questions
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                res = self.client.post("/v1/collections/dr/retrieve", json={"question": self.questions[i % 17]})
                self.statuses.append(res.status_code)
            except httpx.HTTPError:
                self.statuses.append(0)
            i += 1

    def finish(self) -> list[int]:
        self.stop.set()
        self.thread.join(60)
        return self.statuses


def _backup_store_snapshot(backup_dir: Path, entry: str, settings: Settings) -> tuple[object, dict[str, float | None]]:
    """The graph snapshot and recall of a backup's store (opened on a copy: opening writes beside the file)."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(backup_dir / "stores" / entry / "hopgraph.db", Path(tmp) / "hopgraph.db")
        counts = check_consistency(Path(tmp) / "hopgraph.db")  # nothing dangling, nothing half-written
        assert counts["documents"] > 0
        local = settings.model_copy(update={"data_dir": Path(tmp), "graph_store": "embedded",
                                            "vector_store": "embedded"})
        store = open_store(local, load_ontology(None))
        try:
            snap = store.graph.snapshot()
        finally:
            store.close()
        return snap, _recall(local)


@pytest.mark.parametrize("profile", ["embedded", "server"])
def test_backup_under_load_wipe_restore(profile: str, tmp_path: Path, model_cache: Path,
                                        request: pytest.FixtureRequest) -> None:
    if profile == "server":
        request.getfixturevalue("neo4j_available")
        request.getfixturevalue("weaviate_available")
    env, overrides = _env(profile, model_cache)
    data, backups = tmp_path / "data", tmp_path / "backups"
    corpus = json.loads((MUSIQUE / "corpus.json").read_text())
    questions = [q["question"] for q in json.loads((MUSIQUE / "questions.json").read_text())]
    settings = _settings(data, model_cache, overrides)
    try:
        with _serve(data, env) as srv:
            made = run_cli("keys", "create", "--role", "admin", data_dir=data, env=env, timeout=120)
            assert made.returncode == 0, made.stderr
            admin = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {made.stdout.strip()}"},
                                 timeout=60)
            assert admin.post("/v1/collections", json={"name": "dr"}).status_code == 201
            first = admin.post("/v1/collections/dr/documents", json={"documents": corpus[:100]}).json()
            assert _wait(admin, f"/v1/collections/dr/jobs/{first['id']}")["state"] == "succeeded"

            # the backup runs while the second job commits batch after batch, and queries run
            load = Load(httpx.Client(base_url=srv.url, headers=admin.headers, timeout=60), questions)
            second = admin.post("/v1/collections/dr/documents", json={"documents": corpus[100:]}).json()
            while admin.get(f"/v1/collections/dr/jobs/{second['id']}").json()["progress"]["done"] == 0:
                time.sleep(0.2)
            assert admin.get(f"/v1/collections/dr/jobs/{second['id']}").json()["state"] == "running"
            taken = run_cli("backup", "--all", "--to", str(backups), data_dir=data, env=env, timeout=600)
            assert taken.returncode == 0, taken.stderr
            progress = admin.get(f"/v1/collections/dr/jobs/{second['id']}").json()["progress"]
            print("ingest job after the backup:", progress)
            assert _wait(admin, f"/v1/collections/dr/jobs/{second['id']}")["state"] == "succeeded"
            assert set(load.finish()) == {200}
        (backup_dir,) = [p for p in backups.iterdir() if p.name.startswith("hb-")]
        verified = run_cli("backup", "verify", str(backup_dir), data_dir=data, env=env)
        assert verified.returncode == 0 and "match the manifest" in verified.stdout, verified.stderr
        point, recall_at_point = _backup_store_snapshot(backup_dir, "c-dr", settings)
        documents_at_point = len(point.documents)  # type: ignore[attr-defined]
        assert 100 <= documents_at_point <= len(corpus)
        keys_before = run_cli("keys", "list", data_dir=data, env=env).stdout
        if profile == "server":
            # Weaviate's BM25 and the embedded FTS5 rank keyword hits differently, so the backup's embedded copy is
            # no measure of the server's recall: measure the server itself, on a backup of its whole (quiescent)
            # collection, restored below after the point-in-time one
            whole = tmp_path / "whole"
            taken = run_cli("backup", "--collection", "dr", "--to", str(whole), data_dir=data, env=env, timeout=600)
            assert taken.returncode == 0, taken.stderr
            recall_before = _recall(collections.collection_settings(settings, "dr"))

        # wipe everything: the data directory, and on the server profile the collection's labels and collections
        if profile == "server":
            drop_server_data(collections.collection_settings(settings, "dr"))
        shutil.rmtree(data)

        restored = run_cli("restore", str(backup_dir), "--server-state", data_dir=data, env=env, timeout=600)
        assert restored.returncode == 0, restored.stderr
        assert "restored c-dr as dr" in restored.stdout
        csettings = collections.collection_settings(settings, "dr")
        store = open_store(csettings, load_ontology(None))
        try:
            assert compare(point, store.graph.snapshot()) == []  # type: ignore[arg-type]
        finally:
            store.close()
        if profile == "embedded":
            assert _recall(csettings) == recall_at_point
        else:
            (whole_dir,) = list(whole.iterdir())
            again = run_cli("restore", str(whole_dir), "--collection", "dr", "--replace", data_dir=data, env=env,
                            timeout=600)
            assert again.returncode == 0, again.stderr
            # a replace builds under a new server tag: the collection's settings name it
            assert _recall(collections.collection_settings(settings, "dr")) == recall_before
        assert run_cli("keys", "list", data_dir=data, env=env).stdout == keys_before

        # the restored server answers with the restored key
        with _serve(data, env) as srv:
            client = httpx.Client(base_url=srv.url, headers=admin.headers, timeout=60)
            res = client.get("/v1/collections/dr/documents", params={"limit": 1})
            assert res.status_code == 200, res.text
    finally:
        if profile == "server":
            drop_server_data(settings)  # the data directory's own (empty) store, which --all backs up too
            if collections.exists(settings, "dr"):
                drop_server_data(collections.collection_settings(settings, "dr"))


def test_restore_over_http_and_kills(tmp_path: Path, model_cache: Path) -> None:
    """Backup and restore as HTTP jobs (a new name, then a replace), and SIGKILL during a CLI backup and restore:
    nothing half-visible, the rerun completes."""
    env, overrides = _env("embedded", model_cache)
    data = tmp_path / "data"
    corpus = json.loads((MUSIQUE / "corpus.json").read_text())
    with _serve(data, env) as srv:
        made = run_cli("keys", "create", "--role", "admin", data_dir=data, env=env, timeout=120)
        admin = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {made.stdout.strip()}"},
                             timeout=60)
        assert admin.post("/v1/collections", json={"name": "dr"}).status_code == 201
        job = admin.post("/v1/collections/dr/documents", json={"documents": corpus[:60]}).json()
        assert _wait(admin, f"/v1/collections/dr/jobs/{job['id']}")["state"] == "succeeded"

        res = admin.post("/v1/backups", json={"collections": ["dr"]})
        assert res.status_code == 202 and res.headers["location"].startswith("/v1/backups/jobs/"), res.text
        done = _wait(admin, res.headers["location"])
        assert done["state"] == "succeeded", done
        backup_id = done["report"]["backup"]  # type: ignore[index]
        listed = admin.get("/v1/backups").json()
        assert [b["id"] for b in listed] == [backup_id] and listed[0]["entries"]["c-dr"]["counts"]["documents"] == 60

        res = admin.post(f"/v1/backups/{backup_id}/restore", json={"collection": "dr", "as": "copy"})
        assert res.status_code == 202, res.text
        assert _wait(admin, res.headers["location"])["state"] == "succeeded"
        assert admin.get("/v1/collections/copy/documents", params={"limit": 100}).status_code == 200
        res = admin.post(f"/v1/backups/{backup_id}/restore", json={"collection": "dr"})
        refused = _wait(admin, res.headers["location"])
        assert refused["state"] == "failed" and "--replace" in str(refused["error"]), refused
        assert admin.post("/v1/backups/hb-none/restore", json={}).status_code == 404

        # more documents, then a replace: the server answers from the restored collection after it
        job = admin.post("/v1/collections/dr/documents", json={"documents": corpus[60:80]}).json()
        assert _wait(admin, f"/v1/collections/dr/jobs/{job['id']}")["state"] == "succeeded"
        assert admin.get("/v1/collections/dr/documents").json()["total"] == 80
        res = admin.post(f"/v1/backups/{backup_id}/restore", json={"collection": "dr", "replace": True})
        assert _wait(admin, res.headers["location"])["state"] == "succeeded"
        assert admin.get("/v1/collections/dr/documents").json()["total"] == 60
        assert "backup.create" in {e["action"] for e in admin.get("/v1/audit").json()}
        assert "backup.restore" in {e["action"] for e in admin.get("/v1/collections/dr/audit").json()}

    backups = data / "backups"
    # SIGKILL during a restore (kept running by a slow start: SIGKILL as soon as its staging directory appears)
    kill_restore = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--data-dir", str(data), "restore", str(backups / backup_id),
         "--collection", "dr", "--replace"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = collections.root(_settings(data, model_cache, overrides))
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".restore-dr-") for p in root.iterdir()) and kill_restore.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    kill_restore.send_signal(signal.SIGKILL)
    kill_restore.wait(30)
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == ["copy", "dr"]
    assert check_consistency(root / "dr" / "hopgraph.db")["documents"] == 60  # old or new: both hold 60
    again = run_cli("restore", str(backups / backup_id), "--collection", "dr", "--replace", data_dir=data, env=env)
    assert again.returncode == 0, again.stderr
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # the dead restore's staging is gone

    # SIGKILL during a backup: no backup appears; the rerun completes
    kill_backup = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--data-dir", str(data), "backup", "--all", "--to", str(backups)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(backups.glob(".partial-*")) and kill_backup.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    kill_backup.send_signal(signal.SIGKILL)
    kill_backup.wait(30)
    assert [p.name for p in backups.iterdir() if p.name.startswith("hb-")] == [backup_id]
    rerun = run_cli("backup", "--all", "--to", str(backups), "--keep", "1", data_dir=data, env=env)
    assert rerun.returncode == 0, rerun.stderr
    kept = [p for p in backups.iterdir() if not p.name.startswith(".")]
    assert len(kept) == 1 and kept[0].name != backup_id  # --keep 1: the newest only
    assert not list(backups.glob(".partial-*"))
    assert run_cli("backup", "verify", str(kept[0]), data_dir=data, env=env).returncode == 0
