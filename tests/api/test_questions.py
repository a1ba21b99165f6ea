"""Questions over HTTP: retrieve, extractive and generated answers, streamed answers, the graph."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import QUESTION, Harness


def _sse(text: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def _count(metrics: str, prefix: str) -> float:
    """The value of the series line starting with ``prefix`` (0 when there is none yet)."""
    line = next((x for x in metrics.splitlines() if x.startswith(prefix)), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


def test_retrieve_returns_explained_passages(harness: Harness) -> None:
    res = harness.client.post("/v1/collections/alpha/retrieve", json={"question": QUESTION, "k": 4},
                              headers=harness.h("reader_alpha"))
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["mode"] == "hybrid" and len(body["passages"]) == 4 and body["linked"]
    titles = [p["title"] for p in body["passages"]]
    assert "Corvel Robotics" in titles
    for p in body["passages"]:
        assert {"chunk_id", "doc_id", "start", "end", "text", "score", "scores", "entities", "paths"} <= set(p)
    assert any(p["paths"] for p in body["passages"])
    edge = next(p["paths"][0][0] for p in body["passages"] if p["paths"])
    assert {"head", "type", "tail", "evidence_chunk_id"} <= set(edge)
    dense = harness.client.post("/v1/collections/alpha/retrieve", json={"question": QUESTION, "mode": "dense", "k": 2},
                                headers=harness.h("reader_alpha")).json()
    assert dense["mode"] == "dense" and len(dense["passages"]) == 2


def test_extractive_query_cites_a_passage(harness: Harness) -> None:
    res = harness.client.post("/v1/collections/alpha/query", json={"question": QUESTION, "extractive": True},
                              headers=harness.h("reader_alpha"))
    body = res.json()
    assert res.status_code == 200 and body["mode"] == "extractive" and body["supported"]
    assert body["citations"] and body["retrieval"]["passages"]
    cited = {c["chunk_id"] for c in body["citations"]}
    assert cited <= {p["chunk_id"] for p in body["retrieval"]["passages"]}


def test_generated_answer_plain_and_streamed(harness: Harness) -> None:
    q = {"question": "Who owns Baltia Lines?", "k": 2}
    before = harness.client.get("/metrics").text
    plain = harness.client.post("/v1/collections/alpha/query", json=q, headers=harness.h("reader_alpha"))
    assert plain.status_code == 200 and plain.json()["mode"] == "llm"
    with harness.client.stream("POST", "/v1/collections/alpha/query", json={**q, "stream": True},
                               headers=harness.h("reader_alpha")) as res:
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
        events = _sse(res.read().decode())
    kinds = [k for k, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1 and kinds.count("token") >= 1
    assert set(kinds[:-1]) == {"token"}
    final = events[-1][1]
    assert final["mode"] == "llm" and final["steps"] and final["steps"][0]["hop"] == 1
    # the passages are those of the pass whose reply was kept; the citations number them
    read = [p["chunk_id"] for p in final["retrieval"]["passages"]]
    assert read in [step["passages"] for step in final["steps"]]
    assert {c["chunk_id"] for c in final["citations"]} <= set(read)
    assert final["answer"] == plain.json()["answer"]  # temperature 0: the same answer either way
    outcome = "no_answer" if final["no_answer"] else "unsupported" if final["unsupported"] else "supported"
    assert final["supported"] == (outcome == "supported") and final["supported"] == bool(final["citations"])
    metrics = harness.client.get("/metrics").text  # other tests of the session generate too: count the difference
    assert _count(metrics, "hopgraph_generated_tokens_total ") > _count(before, "hopgraph_generated_tokens_total ")
    for series in ("hopgraph_generation_duration_seconds_count ", f'hopgraph_answers_total{{outcome="{outcome}"}} '):
        assert _count(metrics, series) == _count(before, series) + 2, series


def test_question_validation_names_the_field(harness: Harness) -> None:
    c, h = harness.client, harness.h("reader_alpha")
    cases = [({"question": "   "}, "question"), ({"question": "x", "k": 0}, "k"), ({"question": "x", "mode": "magic"},
             "mode"), ({"question": "x", "k": "five"}, "k"), ({"q": "x"}, "q"), ({}, "question"),
             ({"question": "x" * 2001}, "question")]
    for body, field in cases:
        res = c.post("/v1/collections/alpha/retrieve", json=body, headers=h)
        assert res.status_code == 422, (body, res.text)
        problem = res.json()
        assert res.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == 422 and problem["field"] == field, (body, problem)
        assert problem["type"].startswith("urn:hopgraph:problem:") and problem["title"] and problem["detail"]
    malformed = c.post("/v1/collections/alpha/query", content=b'{"question": ', headers={**h, "content-type":
                                                                                        "application/json"})
    assert malformed.status_code == 400 and malformed.json()["type"] == "urn:hopgraph:problem:bad-request"


def test_entities_search_detail_and_paths(harness: Harness) -> None:
    c, h = harness.client, harness.h("reader_alpha")
    hits = c.get("/v1/collections/alpha/entities", params={"q": "Northwind Holdings"}, headers=h).json()
    assert hits[0]["name"] == "Northwind Holdings" and hits[0]["score"] == 1.0
    nid = hits[0]["id"]
    ent = c.get(f"/v1/collections/alpha/entities/{nid}", headers=h).json()
    assert ent["type"] == "Organization" and "Northwind Holdings" in ent["aliases"]
    acquired = next(n for n in ent["neighbours"] if n["relation_type"] == "ACQUIRED")
    assert acquired["direction"] == "out" and acquired["entity"]["name"] == "Corvel Robotics"
    assert "acquired Corvel Robotics" in acquired["evidence"][0]["text"]
    founder = c.get("/v1/collections/alpha/entities", params={"q": "Ilse Marnik"}, headers=h).json()[0]["id"]
    paths = c.get("/v1/collections/alpha/paths", params={"from": founder, "to": acquired["entity"]["id"],
                                                         "max_hops": 3}, headers=h).json()
    [path] = paths["paths"]
    assert 1 <= len(path) <= 3 and path[-1]["evidence_chunk_id"]
    names = {path[0]["head"] if path[0]["forward"] else path[0]["tail"], path[-1]["tail"] if path[-1]["forward"]
             else path[-1]["head"]}
    assert names == {"Ilse Marnik", "Corvel Robotics"}
    assert c.get("/v1/collections/alpha/paths", params={"from": founder, "to": "nope"}, headers=h).status_code == 404
    bad = c.get("/v1/collections/alpha/paths", params={"from": founder, "to": nid, "max_hops": 9}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "max_hops"
    missing = c.get("/v1/collections/alpha/paths", params={"from": founder}, headers=h)
    assert missing.status_code == 400 and missing.json()["field"] == "to"
