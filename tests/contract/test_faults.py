"""Real outages with a neo4j+weaviate KnowledgeStore: stop a server, write, restart, rewrite.

A write fails with StoreUnavailableError, nothing of it is visible in either store,
and after the server is back the same store completes the rerun. The stopped
service is always restarted (fixture finalizer) so later tests have it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import StoreUnavailableError
from core.settings import Settings
from graph.knowledge import KnowledgeStore
from graph.ontology import Ontology
from graph.store import drop_graph_data, drop_vector_data, open_store
from tests.process_guard import MARKER

from .bundles import d1, d2
from .conftest import server_settings, unique_prefix
from .test_knowledge_store import assert_absent, assert_complete, chunk_ids, write

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["bash", str(ROOT / "deploy" / "services.sh")]

pytestmark = pytest.mark.slow


def services(action: str, name: str) -> None:
    """Run ``deploy/services.sh ACTION NAME`` (bounded).

    The servers it (re)starts are the machine's services, meant to outlive the run: they do not carry the
    run's process marker (tests/process_guard.py)."""
    env = {k: v for k, v in os.environ.items() if k != MARKER}
    proc = subprocess.run([*SERVICES, action, name], capture_output=True, text=True, timeout=240, check=False,
                          env=env)
    assert proc.returncode == 0, f"services.sh {action} {name} failed:\n{proc.stderr[-3000:]}"


@pytest.fixture
def controlled(neo4j_available: None, weaviate_available: None) -> Iterator[Callable[[str], None]]:
    """``stop(name)`` stops a service managed by deploy/services.sh; every stopped one is restarted after."""
    stopped: list[str] = []

    def stop(name: str) -> None:
        if subprocess.run([*SERVICES, "status", name], capture_output=True, timeout=60, check=False).returncode:
            pytest.fail(f"{name} is reachable but not managed by deploy/services.sh; cannot inject an outage")
        stopped.append(name)
        services("stop", name)

    yield stop
    for name in stopped:
        services("start", name)


@pytest.fixture
def mixed_store(tmp_path: Path, ontology: Ontology, neo4j_available: None,
                weaviate_available: None) -> Iterator[tuple[KnowledgeStore, Settings]]:
    """A neo4j+weaviate KnowledgeStore with short timeouts, on labels and collections of its own."""
    prefix = unique_prefix()
    s = server_settings(tmp_path, graph_store="neo4j", vector_store="weaviate", weaviate_collection_prefix=prefix,
                        neo4j_label_prefix=prefix + "_", store_timeout_s=3.0)
    store = open_store(s, ontology)
    yield store, s
    store.close()
    drop_graph_data(s)
    drop_vector_data(s)


def test_weaviate_down_during_write(
    mixed_store: tuple[KnowledgeStore, Settings], controlled: Callable[[str], None]
) -> None:
    store, _ = mixed_store
    write(store, d1())

    controlled("weaviate")
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="weaviate"):
        write(store, d2())
    assert time.monotonic() - started < 30
    assert store.graph.document_hashes(["d2"]) == {}
    assert "d2" not in [d.id for d in store.graph.list_documents()]
    assert store.graph.existing_entities(["rocket"]) == set()

    services("start", "weaviate")
    assert chunk_ids(store, "d2") == []
    write(store, d2())  # the same store: it repairs its pending intents, then writes
    assert_complete(store, d1())
    assert_complete(store, d2())


def test_neo4j_down_between_the_two_writes(
    mixed_store: tuple[KnowledgeStore, Settings], controlled: Callable[[str], None]
) -> None:
    store, _ = mixed_store
    write(store, d1())
    real = store.vectors

    class StopNeo4jAfterVectors:
        """The vectors are written, then Neo4j goes away before the graph commit."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def write_documents(self, bundles: Any) -> None:
            real.write_documents(bundles)
            assert chunk_ids(store, "d2") != []  # really half-written at this point
            controlled("neo4j")

    store.vectors = StopNeo4jAfterVectors()  # type: ignore[assignment]
    with pytest.raises(StoreUnavailableError, match="neo4j"):
        write(store, d2())
    store.vectors = real
    assert chunk_ids(store, "d2") == []  # compensated while Neo4j was down

    services("start", "neo4j")
    assert store.graph.document_hashes(["d2"]) == {}
    assert store.repair() == 2  # the document intent and the new entity vectors of the batch
    assert_absent(store, d2(), ["rocket"])
    write(store, d2())
    assert_complete(store, d1())
    assert_complete(store, d2())
