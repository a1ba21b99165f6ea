"""A collection's versioned ontology: read it, replace it, refuse versions the graph violates."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Harness


def _current(harness: Harness, collection: str) -> dict[str, Any]:
    res = harness.client.get(f"/v1/collections/{collection}/ontology", headers=harness.h(f"reader_{collection}"))
    assert res.status_code == 200
    body: dict[str, Any] = res.json()
    return body


def test_put_is_refused_while_the_graph_violates_it_and_accepted_otherwise(harness: Harness) -> None:
    c, curator = harness.client, harness.h("curator_beta")
    before = _current(harness, "beta")
    assert before["source"] == "server" and before["version"] >= 1
    onto = before["ontology"]

    narrowed = {**onto, "version": before["version"] + 1,
                "relation_types": {k: v for k, v in onto["relation_types"].items() if k != "FOUNDED"}}
    res = c.put("/v1/collections/beta/ontology", json=narrowed, headers=curator)
    assert res.status_code == 409 and res.headers["content-type"].startswith("application/problem+json")
    violations = res.json()["violations"]
    assert any(v["kind"] == "relation" and v["relation"] == "FOUNDED" and v["count"] >= 1 for v in violations)
    assert _current(harness, "beta")["version"] == before["version"]  # nothing changed

    stale = c.put("/v1/collections/beta/ontology", json=onto, headers=curator)
    assert stale.status_code == 409 and "not above" in stale.json()["detail"]
    invalid = c.put("/v1/collections/beta/ontology", json={**onto, "version": before["version"] + 1,
                                                           "entity_types": {}}, headers=curator)
    assert invalid.status_code == 422
    assert c.put("/v1/collections/beta/ontology", json={**onto, "version": 99},
                 headers=harness.h("editor_beta")).status_code == 403

    widened = {**onto, "version": before["version"] + 1,
               "entity_types": {**onto["entity_types"], "Mine": {"labels": []}}}
    ok = c.put("/v1/collections/beta/ontology", json=widened, headers=curator)
    assert ok.status_code == 200 and ok.json()["source"] == "collection"
    after = _current(harness, "beta")
    assert after["version"] == before["version"] + 1 and "Mine" in after["ontology"]["entity_types"]
    assert _current(harness, "alpha")["source"] == "server"  # other collections keep theirs
    audit = c.get("/v1/collections/beta/audit", headers=curator).json()
    entry = next(a for a in audit if a["action"] == "ontology.replace")
    assert entry["before"]["version"] == before["version"] and entry["after"]["version"] == after["version"]
    # the collection keeps answering, and ingesting, with its new ontology
    assert c.post("/v1/collections/beta/retrieve", json={"question": "Who founded Orvane Mining?"},
                  headers=harness.h("reader_beta")).status_code == 200
    doc = {"id": "onto", "title": "Kallax Shipping", "text": "Kallax Shipping was founded by Mirja Oks in Tallinn."}
    job = c.post("/v1/collections/beta/documents", json={"documents": [doc]}, headers=harness.h("editor_beta"))
    assert harness.wait_job("beta", job.json()["id"])["state"] == "succeeded"

    # every version is kept: the server's the collection left, and the new one; they compare
    c_reader = harness.h("reader_beta")
    versions = c.get("/v1/collections/beta/ontology/versions", headers=c_reader).json()
    v0, v1 = before["version"], after["version"]
    assert versions == [{"version": v1, "source": "collection", "current": True},
                        {"version": v0, "source": "collection", "current": False}]
    old = c.get(f"/v1/collections/beta/ontology/versions/{v0}", headers=c_reader).json()
    assert old["version"] == v0 and old["ontology"] == onto
    changes = c.get(f"/v1/collections/beta/ontology/diff?from={v0}", headers=c_reader).json()
    assert changes["before"] == v0 and changes["after"] == v1 and not changes["empty"]
    assert changes["entity_types_added"] == ["Mine"] and changes["relation_types_changed"] == []
    back = c.get(f"/v1/collections/beta/ontology/diff?from={v1}&to={v0}", headers=c_reader).json()
    assert back["entity_types_removed"] == ["Mine"] and back["entity_types_added"] == []
    missing = c.get("/v1/collections/beta/ontology/versions/999", headers=c_reader)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    server_only = c.get("/v1/collections/alpha/ontology/versions", headers=harness.h("reader_alpha")).json()
    assert server_only == [{"version": v0, "source": "server", "current": True}]
