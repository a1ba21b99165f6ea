"""HTTP API fixtures: one app (real models, embedded stores) with two collections, shared by the suite.

``alpha`` holds the sample corpus (uploaded as files), ``beta`` a few other
documents (sent as JSON); keys of every role are created for them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from core.settings import Settings, load_settings
from service.keys import KeyStore
from service.serverdb import ServerDB, server_db_path
from tests.conftest import SAMPLES

BETA_DOCS = [
    {"id": "b1", "title": "Orvane Mining",
     "text": "Orvane Mining was founded by Petra Lindqvist in Kiruna in 1987. Orvane Mining operates the Skarn Deep "
             "mine near Kiruna."},
    {"id": "b2", "title": "Petra Lindqvist",
     "text": "Petra Lindqvist is a Swedish engineer. She founded Orvane Mining and later chaired the Nordic Ore "
             "Council in Stockholm."},
    {"id": "b3", "title": "Skarn Deep",
     "text": "Skarn Deep is an iron mine in Lapland. It is operated by Orvane Mining and employs 900 miners."},
]
BETA_MARKERS = ("Orvane", "Lindqvist", "Skarn")
QUESTION = "Who founded the company that acquired the maker of the Pakka sorter?"


def api_settings(data_dir: Path, model_cache: Path, **overrides: Any) -> Settings:
    """Settings for a test server: embedded stores, one thread, the ingest worker in a thread."""
    values: dict[str, Any] = {
        "data_dir": data_dir, "model_cache_dir": model_cache, "graph_store": "embedded",
        "vector_store": "embedded", "threads": 1, "api_ingest_worker": "thread", "llm_max_tokens": 24,
        "llm_model": "fast",
        "max_file_bytes": 1_000_000,
    }
    values.update(overrides)
    return load_settings(None, **values)


def make_keys(settings: Settings) -> dict[str, str]:
    """Keys of every role: ``admin``, ``<role>_<collection>`` for alpha and beta."""
    db = ServerDB(server_db_path(settings.data_dir))
    try:
        store = KeyStore(db)
        keys = {"admin": store.create("admin", [], "admin")[1]}
        for role in ("reader", "editor", "curator"):
            for col in ("alpha", "beta"):
                keys[f"{role}_{col}"] = store.create(role, [col], f"{role}-{col}")[1]
        return keys
    finally:
        db.close()


@dataclass
class Harness:
    """A running test app and the keys to call it with."""

    client: TestClient[Litestar]
    settings: Settings
    keys: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)

    def h(self, key: str) -> dict[str, str]:
        """Headers authenticating as ``key`` (a name in ``keys``)."""
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def wait_job(self, collection: str, job_id: str, key: str = "admin", timeout: float = 120) -> dict[str, Any]:
        """Poll a job until it ends; returns its last state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(f"/v1/collections/{collection}/jobs/{job_id}",
                                                  headers=self.h(key)).json()
            if job["state"] in ("succeeded", "failed"):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout}s")

    def wait_ready(self, timeout: float = 120) -> None:
        """Poll ``/readyz`` until the models are loaded."""
        deadline = time.monotonic() + timeout
        while self.client.get("/readyz").status_code != 200:
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready: {self.client.get('/readyz').json()}")
            time.sleep(0.2)


def sample_files() -> list[tuple[str, tuple[str, bytes]]]:
    """The sample corpus as multipart file parts."""
    return [("files", (p.name, p.read_bytes())) for p in sorted(SAMPLES.iterdir()) if p.is_file()]


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Harness]:
    """The shared app with collections alpha (sample files) and beta (JSON documents), both ingested."""
    settings = api_settings(tmp_path_factory.mktemp("api") / "data", model_cache)
    keys = make_keys(settings)
    with TestClient(create_app(settings)) as client:
        hz = Harness(client, settings, keys)
        for name in ("alpha", "beta"):
            assert client.post("/v1/collections", json={"name": name}, headers=hz.h("admin")).status_code == 201
        up = client.post("/v1/collections/alpha/documents", files=sample_files(), headers=hz.h("editor_alpha"))
        assert up.status_code == 202, up.text
        js = client.post("/v1/collections/beta/documents", json={"documents": BETA_DOCS}, headers=hz.h("editor_beta"))
        assert js.status_code == 202, js.text
        hz.ids["alpha_job"], hz.ids["beta_job"] = up.json()["id"], js.json()["id"]
        hz.ids["beta_predicted"] = js.json()["documents"]
        for col, job in (("alpha", up.json()["id"]), ("beta", js.json()["id"])):
            done = hz.wait_job(col, job)
            assert done["state"] == "succeeded" and not done["errors"], done
            hz.ids[f"{col}_docs"] = done["documents"]
        hz.wait_ready()
        yield hz
