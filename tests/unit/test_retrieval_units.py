"""Linking, personalised PageRank, paths and fusion on small hand-built inputs with known answers."""

from __future__ import annotations

import pytest

from graph.ontology import Ontology
from retrieval.answer import names_absent
from retrieval.fusion import linear_fusion, reciprocal_rank_fusion
from retrieval.graph_index import GraphIndex
from retrieval.linking import EntityLinker
from retrieval.types import Passage

# Two hops: the question names A; chunk c1 mentions A and bridge B; chunk c2 mentions B and answer C.
# c3 mentions only an unrelated entity D.
MENTIONS = [("c1", "d1", "A"), ("c1", "d1", "B"), ("c2", "d2", "B"), ("c2", "d2", "C"), ("c3", "d3", "D")]
RELATIONS = [("r1", "A", "B", "RELATED_TO", 0.9), ("r2", "B", "C", "FOUNDED", 0.9)]


@pytest.fixture
def index() -> GraphIndex:
    return GraphIndex(MENTIONS, RELATIONS, version="1")


def test_ppr_reaches_the_second_hop_and_not_unrelated_chunks(index: GraphIndex) -> None:
    nodes, mass = index.ppr({index.entity_node["A"]: 1.0}, damping=0.8, hops=4)
    score = {int(n): float(m) for n, m in zip(nodes, mass, strict=True)}
    c1, c2, c3 = (index.chunk_node[c] for c in ("c1", "c2", "c3"))
    assert score[c1] > score[c2] > 0
    assert score.get(c3, 0.0) == 0.0
    assert abs(sum(score.values()) - 1.0) < 1e-6


def test_ppr_neighbourhood_limits_the_walk(index: GraphIndex) -> None:
    nodes, _ = index.ppr({index.entity_node["A"]: 1.0}, hops=1)
    reached = set(nodes.tolist())
    assert index.entity_node["B"] in reached and index.chunk_node["c1"] in reached  # one hop from A
    assert index.chunk_node["c2"] not in reached  # two hops from A


def test_a_capped_neighbourhood_keeps_what_the_walk_reaches_most() -> None:
    # S relates strongly to Z (ids sort it last) and weakly to A1..A5; room for S and one more node
    weak = [(f"w{i}", "S", f"A{i}", "RELATED_TO", 0.05) for i in range(1, 6)]
    index = GraphIndex([], [("s", "S", "Z", "FOUNDED", 1.0), *weak], version="1")
    seed = index.entity_node["S"]
    kept = index.neighbourhood([seed], hops=2, max_nodes=2).tolist()
    assert kept == sorted([seed, index.entity_node["Z"]])  # not the lowest ids, A1 and S
    everything = index.neighbourhood([seed], hops=2, max_nodes=100).tolist()
    assert len(everything) == 7
    nodes, mass = index.ppr({seed: 1.0}, hops=2, max_nodes=2)
    assert nodes.tolist() == kept and abs(float(mass.sum()) - 1.0) < 1e-6


def test_shortest_paths_follow_relations(index: GraphIndex) -> None:
    parents = index.shortest_paths([index.entity_node["A"]], max_hops=3)
    path = index.path_to(parents, index.entity_node["C"])
    assert [(index.entity_ids[start], e.type) for start, e in path] == [("A", "RELATED_TO"), ("B", "FOUNDED")]
    assert index.path_to(parents, index.entity_node["D"]) == []


def test_specificity_prefers_rare_entities(index: GraphIndex) -> None:
    assert index.specificity(index.entity_node["A"]) > index.specificity(index.entity_node["B"])


def test_reciprocal_rank_fusion_known_answer() -> None:
    fused = reciprocal_rank_fusion({"x": ["a", "b", "c"], "y": ["c", "b"]}, {"x": 1.0, "y": 1.0}, k=1.0)
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 3 + 1 / 3)
    assert scores["c"] == pytest.approx(1 / 4 + 1 / 2)
    assert [i for i, _ in fused] == ["c", "b", "a"]  # 0.75 > 0.667 > 0.5


def test_linear_fusion_scales_non_raw_signals() -> None:
    fused = dict(linear_fusion({"dense": {"a": 0.5, "b": 0.4}, "graph": {"b": 0.02, "c": 0.01}},
                               {"dense": 1.0, "graph": 2.0}, raw={"dense"}))
    assert fused["a"] == pytest.approx(0.5)
    assert fused["b"] == pytest.approx(0.4 + 2.0)
    assert fused["c"] == pytest.approx(1.0)


def test_linker_exact_alias_fuzzy_and_common_words(ontology: Ontology) -> None:
    keys = [("corvel robotics", "e1"), ("pakka", "e2"), ("state", "e3"), ("northwind holdings", "e4")]
    linker = EntityLinker(keys, ontology.aliases)
    links = linker.link("Which state owns Corvel Robotics and the Pakka?", ["Northwind Holding"], None, None)
    by_id = {lk.entity_id: lk for lk in links}
    assert by_id["e1"].method == "exact" and by_id["e1"].score == 1.0
    assert by_id["e2"].method == "exact"
    assert "e3" not in by_id  # a lower-case common word is not a name
    assert by_id["e4"].method == "fuzzy" and 0.8 < by_id["e4"].score < 0.9


@pytest.mark.parametrize(("question", "absent"), [
    ("Who founded Brekke Shipping?", True),  # the passages never name Brekke or Shipping
    ("Who founded Orvane Mining?", False),
    ("In which town was orvane founded?", False),  # names nothing (the first word does not count)
    ("Where is the mine of Petra's company?", False),
    ("What did Halvard Lindqvist chair?", False),  # one of its names is in a passage
])
def test_an_answer_needs_passages_that_name_what_the_question_names(question: str, absent: bool) -> None:
    passages = [Passage("c1", "d1", "Orvane Mining", 0, 60, "Orvane Mining was founded by Petra Lindqvist.", 1.0)]
    assert names_absent(question, passages) is absent
