"""KnowledgeStore contract: atomic write/replace/delete over every graph+vector combination.

Failures are injected by wrapping the real adapters (the write really reaches the
store, then fails) and by killing a real writer process between the two writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from core.errors import NotFoundError, StoreError
from core.settings import Settings
from graph.knowledge import KnowledgeStore
from graph.model import DocumentBundle

from .bundles import d1, d1_v2, d2, d3, entity_ids, entity_vectors, unit_vector
from .conftest import StoreFactory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write(store: KnowledgeStore, *bundles: DocumentBundle) -> list[str]:
    """Write ``bundles`` with vectors for the entities that have none yet (as the ingest does)."""
    ids = sorted(store.vectors.missing_entities(entity_ids(*bundles)))
    return store.write(list(bundles), ids, entity_vectors(ids))


def chunk_ids(store: KnowledgeStore, doc_id: str) -> list[str]:
    """The chunk ids the vector store holds for ``doc_id``."""
    return sorted(h.chunk_id for h in store.vectors.search_chunks(unit_vector("probe"), k=100, doc_ids=[doc_id]))


def assert_complete(store: KnowledgeStore, bundle: DocumentBundle) -> None:
    """The document is fully visible in both stores."""
    doc = bundle.document
    assert store.graph.document_hashes([doc.id]) == {doc.id: doc.sha256}
    assert store.graph.get_chunks([c.id for c in bundle.chunks]) == list(bundle.chunks)
    assert chunk_ids(store, doc.id) == sorted(c.id for c in bundle.chunks)
    top = store.vectors.search_chunks(bundle.chunk_vectors[0], k=1)[0]
    assert top.chunk_id == bundle.chunks[0].id and top.score == pytest.approx(1.0, abs=1e-4)
    assert store.graph.existing_entities(entity_ids(bundle)) == set(entity_ids(bundle))
    assert store.vectors.missing_entities(entity_ids(bundle)) == set()


def assert_absent(store: KnowledgeStore, bundle: DocumentBundle, only_its: list[str]) -> None:
    """Nothing of the document is visible; entities that only it named have no vector either."""
    doc_id = bundle.document.id
    assert store.graph.document_hashes([doc_id]) == {}
    assert doc_id not in [d.id for d in store.graph.list_documents()]
    assert store.graph.get_chunks([c.id for c in bundle.chunks]) == []
    assert chunk_ids(store, doc_id) == []
    assert store.graph.existing_entities(only_its) == set()
    assert store.vectors.missing_entities(only_its) == set(only_its)


class Failing:
    """Delegates to a real store, but ``method`` raises StoreError (after doing its work if ``after``)."""

    def __init__(self, real: Any, method: str, after: bool) -> None:
        self._real, self._method, self._after = real, method, after

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name != self._method:
            return attr

        def failing(*args: Any, **kwargs: Any) -> Any:
            if self._after:
                attr(*args, **kwargs)
            raise StoreError(f"injected failure in {name}")

        return failing


def test_write_is_visible_in_both(knowledge_store: KnowledgeStore) -> None:
    assert write(knowledge_store, d1(), d2()) == []
    assert_complete(knowledge_store, d1())
    assert_complete(knowledge_store, d2())
    assert [d.id for d in knowledge_store.graph.list_documents()] == ["d1", "d2"]


def test_replace_swaps_exactly_the_contribution(knowledge_store: KnowledgeStore) -> None:
    write(knowledge_store, d1(), d3())
    assert write(knowledge_store, d1_v2()) == ["bob", "paris"]
    assert_complete(knowledge_store, d1_v2())
    assert_complete(knowledge_store, d3())
    assert knowledge_store.vectors.missing_entities(["bob", "paris", "carol"]) == {"bob", "paris"}
    assert knowledge_store.vectors.keyword_search("spring", k=5) == []


def test_delete_removes_from_both_and_keeps_shared(knowledge_store: KnowledgeStore) -> None:
    write(knowledge_store, d1(), d2())
    assert knowledge_store.delete("d1") == ["bob"]
    assert_absent(knowledge_store, d1(), ["bob"])
    assert_complete(knowledge_store, d2())
    with pytest.raises(NotFoundError):
        knowledge_store.delete("d1")
    with pytest.raises(NotFoundError):
        knowledge_store.delete("nope")


@pytest.mark.parametrize(("port", "method"), [("vectors", "write_documents"), ("vectors", "upsert_entities"),
                                              ("graph", "write_documents")])
def test_failed_write_shows_nothing(knowledge_store: KnowledgeStore, port: str, method: str) -> None:
    write(knowledge_store, d1())
    real = getattr(knowledge_store, port)
    setattr(knowledge_store, port, Failing(real, method, after=True))
    with pytest.raises(StoreError, match="injected"):
        write(knowledge_store, d2(), d3())
    setattr(knowledge_store, port, real)

    assert_absent(knowledge_store, d2(), ["rocket"])
    assert_absent(knowledge_store, d3(), ["carol", "zed"])
    assert_complete(knowledge_store, d1())
    write(knowledge_store, d2(), d3())
    assert_complete(knowledge_store, d2())
    assert_complete(knowledge_store, d3())


def test_failed_replace_is_all_or_nothing(knowledge_store: KnowledgeStore) -> None:
    """A failed replace leaves the old version complete (one transaction) or nothing (two stores)."""
    write(knowledge_store, d1(), d2())
    real = knowledge_store.vectors
    knowledge_store.vectors = Failing(real, "write_documents", after=True)  # type: ignore[assignment]
    with pytest.raises(StoreError, match="injected"):
        write(knowledge_store, d1_v2())
    knowledge_store.vectors = real

    if knowledge_store.graph.document_hashes(["d1"]):
        assert_complete(knowledge_store, d1())
    else:
        assert_absent(knowledge_store, d1(), ["bob"])
    assert_complete(knowledge_store, d2())
    write(knowledge_store, d1_v2())
    assert_complete(knowledge_store, d1_v2())


def test_failed_delete_is_finished_or_undone(knowledge_store: KnowledgeStore) -> None:
    write(knowledge_store, d1(), d2())
    real = knowledge_store.vectors
    knowledge_store.vectors = Failing(real, "delete_document", after=False)  # type: ignore[assignment]
    with pytest.raises(StoreError, match="injected"):
        knowledge_store.delete("d1")
    knowledge_store.vectors = real

    if knowledge_store.graph.document_hashes(["d1"]):  # one transaction: rolled back
        assert_complete(knowledge_store, d1())
        knowledge_store.delete("d1")
    else:  # two stores: the graph committed; the next write or delete finishes the vectors
        write(knowledge_store)
    assert_absent(knowledge_store, d1(), ["bob"])
    assert_complete(knowledge_store, d2())


CRASH_WRITER = """
import json, os, sys
sys.path.insert(0, os.environ["HOPGRAPH_TEST_ROOT"])
from core.settings import Settings
from graph.ontology import load_ontology
from graph.store import open_store
from tests.contract.bundles import d2, entity_ids, entity_vectors

settings = Settings.model_validate(json.loads(os.environ["HOPGRAPH_TEST_SETTINGS"]))
store = open_store(settings, load_ontology())
target = getattr(store, sys.argv[1])
real = target.write_documents

def crash(bundles):
    real(bundles)
    os._exit(17)  # dies like SIGKILL: no cleanup, no finally

target.write_documents = crash
ids = entity_ids(d2())
store.write([d2()], ids, entity_vectors(ids))
"""


@pytest.mark.parametrize("after", ["vectors", "graph"])
def test_crash_between_writes_is_repaired_at_open(
    open_knowledge_store: StoreFactory, store_settings: Settings, after: str
) -> None:
    store = open_knowledge_store()
    write(store, d1())
    store.close()

    env = {**os.environ, "HOPGRAPH_TEST_ROOT": ROOT, "HOPGRAPH_TEST_SETTINGS": store_settings.model_dump_json()}
    proc = subprocess.run([sys.executable, "-c", CRASH_WRITER, after], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 17, proc.stderr[-3000:]

    store = open_knowledge_store()  # a fresh process would do the same: open repairs
    assert_absent(store, d2(), ["rocket"])
    assert_complete(store, d1())
    assert store.graph.get_entity("acme") is not None
    write(store, d2())
    assert_complete(store, d2())
