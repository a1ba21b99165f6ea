"""Following the question's relations through a real (embedded) graph to the answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.embedded.database import EmbeddedDatabase
from graph.embedded.graph_store import EmbeddedGraphStore
from graph.embedded.vector_store import EmbeddedVectorStore
from graph.knowledge import KnowledgeStore
from graph.ontology import Ontology
from retrieval.answer import Answerer
from retrieval.chain import ChainReader, hop_evidence
from retrieval.linking import LinkedEntity
from retrieval.types import Passage, RetrievalResult
from tests.contract.bundles import Spec, build


@pytest.fixture
def db(tmp_path: Path) -> EmbeddedDatabase:
    return EmbeddedDatabase(tmp_path / "g.db")


@pytest.fixture
def graph(db: EmbeddedDatabase, ontology: Ontology) -> EmbeddedGraphStore:
    store = EmbeddedGraphStore(db, ontology.aliases)
    store.write_documents([
        build(Spec("d1", ["Alice Smith founded Acme Corp in Paris."],
                   mentions=[(0, "Alice Smith", "alice"), (0, "Acme Corp", "acme"), (0, "Paris", "paris")],
                   relations=[("alice", "FOUNDED", "acme", [(0, 0.9)])])),
        build(Spec("d2", ["Acme launched the Falcon Rocket from Paris."],
                   mentions=[(0, "Acme", "acme"), (0, "Falcon Rocket", "rocket")],
                   relations=[("acme", "PRODUCED", "rocket", [(0, 0.8)])])),
        build(Spec("d3", ["Bob Jones founded a bakery."], mentions=[(0, "Bob Jones", "bob")])),
    ])
    return store


def test_the_question_names_its_relations(ontology: Ontology) -> None:
    reader = ChainReader(ontology)
    assert [t for _, t in reader.relations_in("Who founded the company that makes the Falcon Rocket?")] == [
        "FOUNDED", "PRODUCED"]
    assert [t for _, t in reader.relations_in("Where was the founder of Acme born?")] == ["FOUNDED", "BORN_IN"]
    assert reader.relations_in("What is the name of the river in Paris?") == []


def test_two_hops_lead_to_the_answer(graph: EmbeddedGraphStore, ontology: Ontology) -> None:
    reader = ChainReader(ontology)
    linked = [LinkedEntity("rocket", "falcon rocket", 1.0, "exact")]
    found = reader.answer("Who founded the company that makes the Falcon Rocket?", linked, graph, {"Person"})
    assert found is not None and found.entity_id == "alice" and found.name == "Alice Smith"
    assert [(h.source, h.target, h.relation.type) for h in found.hops] == [
        ("rocket", "acme", "PRODUCED"), ("acme", "alice", "FOUNDED")]
    # a chain that breaks, or leads only to the wrong type, answers nothing
    assert reader.answer("Who founded the company that makes the Falcon Rocket?", linked, graph, {"Location"}) is None
    assert reader.answer("Who married the maker of the Falcon Rocket?", linked, graph, {"Person"}) is None


def test_the_extractive_answer_cites_each_hop(graph: EmbeddedGraphStore, db: EmbeddedDatabase,
                                              ontology: Ontology) -> None:
    reader = ChainReader(ontology)
    question = "Who founded the company that makes the Falcon Rocket?"
    passages = [Passage(c, c.split("-")[0], "", 0, 44, "", 1.0) for c in ("d2-c0", "d1-c0")]
    result = RetrievalResult(question, "hybrid", passages, [LinkedEntity("rocket", "falcon rocket", 1.0, "exact")])
    answer = Answerer(KnowledgeStore(graph, EmbeddedVectorStore(db)), chains=reader).extractive(result)
    assert answer.text == "Alice Smith [1][2]" and answer.short == "Alice Smith" and answer.supported
    assert [(c.n, c.chunk_id) for c in answer.citations] == [(1, "d2-c0"), (2, "d1-c0")]
    # without the passage that evidences the last hop there is no chain answer
    found = reader.answer(question, result.linked, graph, {"Person"})
    assert found is not None
    assert hop_evidence(found, ["d2-c0"]) is None
    assert answer.facts == ["Acme Corp produced Falcon Rocket [1].", "Alice Smith founded Acme Corp [2]."]
