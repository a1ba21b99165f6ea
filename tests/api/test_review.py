"""The review queue over HTTP: what extraction proposed with low confidence or the ontology rejected, each
accepted or dismissed in one request, and what that does to the graph, the ontology and the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from service.keys import KeyStore
from service.serverdb import ServerDB, server_db_path
from tests.api.conftest import Harness

C = "/v1/collections/review"
DOCS = [  # no titles: the title line's NER would type the subject otherwise
    {"id": "r1", "text": "Harju Mills was born in Turku. Mikko Saari visited Harju Mills in 1990."},
    {"id": "r2", "text": "The Nordic Ore Council was born in Stockholm in 1950."},
]


def _queue(hz: Harness, **params: Any) -> dict[str, Any]:
    res = hz.client.get(f"{C}/review", params=params, headers=hz.h("admin"))
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _neighbours(hz: Harness, name: str) -> set[tuple[str, str]]:
    hit = hz.client.get(f"{C}/entities", params={"q": name}, headers=hz.h("admin")).json()[0]
    entity = hz.client.get(f"{C}/entities/{hit['id']}", headers=hz.h("admin")).json()
    return {(n["relation_type"], n["entity"]["name"]) for n in entity["neighbours"]}


def _settled(hz: Harness, res: Any) -> dict[str, Any]:
    assert res.status_code == 202, res.text
    body: dict[str, Any] = res.json()
    assert res.headers["location"].endswith(body["job"]["id"]) and body["job"]["kind"] == "curate"
    assert hz.wait_job("review", body["job"]["id"])["state"] == "succeeded"
    return body


@pytest.fixture(scope="module")
def queued(harness: Harness) -> Harness:
    c = harness.client
    assert c.post("/v1/collections", json={"name": "review"}, headers=harness.h("admin")).status_code == 201
    job = c.post(f"{C}/documents", json={"documents": DOCS}, headers=harness.h("admin"))
    assert harness.wait_job("review", job.json()["id"])["state"] == "succeeded"
    return harness


def test_the_queue_lists_rejected_and_uncertain_relations_with_counts(queued: Harness) -> None:
    page = _queue(queued)
    found = {(i["kind"], i["head"]["name"], i["relation"], i["tail"]["name"]) for i in page["items"]}
    assert ("rejected", "Harju Mills", "BORN_IN", "Turku") in found  # BORN_IN needs a Person head
    assert ("rejected", "The Nordic Ore Council", "BORN_IN", "Stockholm") in found
    assert ("low_confidence", "Mikko Saari", "RELATED_TO", "Harju Mills") in found
    assert page["total"] == len(page["items"]) == sum(k["pending"] for k in page["counts"].values())
    assert [i["confidence"] for i in page["items"]] == sorted(i["confidence"] for i in page["items"])
    item = next(i for i in page["items"] if i["tail"]["name"] == "Turku")
    assert item["status"] == "pending" and item["sentence"] == "Harju Mills was born in Turku."
    doc = queued.client.get(f"{C}/documents/{item['document']}", headers=queued.h("admin")).json()
    assert doc["text"][item["start"] : item["end"]] == item["sentence"]
    rejected = _queue(queued, kind="rejected")
    assert rejected["items"] and {i["kind"] for i in rejected["items"]} == {"rejected"}
    assert rejected["total"] == page["counts"]["rejected"]["pending"]
    # curators only; bad filters are problems
    assert queued.client.get("/v1/collections/beta/review", headers=queued.h("reader_beta")).status_code == 403
    assert queued.client.get("/v1/collections/beta/review", headers=queued.h("curator_beta")).status_code == 200
    assert queued.client.get(f"{C}/review", params={"status": "maybe"}, headers=queued.h("admin")).status_code == 422
    missing = queued.client.post(f"{C}/review/nope/accept", headers=queued.h("admin"))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_dismissing_an_uncertain_relation_removes_it_for_good(queued: Harness) -> None:
    item = next(i for i in _queue(queued, kind="low_confidence")["items"]
                if (i["head"]["name"], i["tail"]["name"]) == ("Mikko Saari", "Harju Mills"))
    assert ("RELATED_TO", "Harju Mills") in _neighbours(queued, "Mikko Saari")
    body = _settled(queued, queued.client.post(f"{C}/review/{item['id']}/dismiss", headers=queued.h("admin")))
    assert body["items"] == [item["id"]] and body["status"] == "dismissed"
    assert ("RELATED_TO", "Harju Mills") not in _neighbours(queued, "Mikko Saari")
    assert item["id"] in [i["id"] for i in _queue(queued, status="dismissed")["items"]]
    assert item["id"] not in [i["id"] for i in _queue(queued)["items"]]
    again = queued.client.post(f"{C}/review/{item['id']}/accept", headers=queued.h("admin"))
    assert again.status_code == 409
    records = queued.client.get(f"{C}/curation", headers=queued.h("admin")).json()
    record = next(r for r in records if r["kind"] == "relation")
    assert record["rule"]["action"] == "suppress" and record["rule"]["type"] == "RELATED_TO"
    # re-ingesting the document keeps the decision
    changed = {**DOCS[0], "text": DOCS[0]["text"] + " Harju Mills closed in 2001."}
    job = queued.client.post(f"{C}/documents", json={"documents": [changed]}, headers=queued.h("admin"))
    assert queued.wait_job("review", job.json()["id"])["state"] == "succeeded"
    assert ("RELATED_TO", "Harju Mills") not in _neighbours(queued, "Mikko Saari")
    assert item["id"] in [i["id"] for i in _queue(queued, status="dismissed")["items"]]
    audit = queued.client.get(f"{C}/audit", headers=queued.h("admin")).json()
    assert any(a["action"] == "review.dismiss" and a["target"] == item["id"] for a in audit)
    # reverting the decision's record brings the relation back and the item back to the queue
    revert = queued.client.delete(f"{C}/curation/{record['key']}", headers=queued.h("admin"))
    assert revert.status_code == 202
    assert queued.wait_job("review", revert.json()["job"]["id"])["state"] == "succeeded"
    assert ("RELATED_TO", "Harju Mills") in _neighbours(queued, "Mikko Saari")
    assert item["id"] in [i["id"] for i in _queue(queued, kind="low_confidence")["items"]]


def test_accepting_a_rejected_relation_widens_the_ontology(queued: Harness) -> None:
    c, admin = queued.client, queued.h("admin")
    before = c.get(f"{C}/ontology", headers=admin).json()["version"]
    pending = _queue(queued, kind="rejected")["items"]
    item = next(i for i in pending if i["tail"]["name"] == "Turku")
    assert ("BORN_IN", "Turku") not in _neighbours(queued, "Harju Mills")
    body = _settled(queued, c.post(f"{C}/review/{item['id']}/accept", headers=admin))
    assert body["status"] == "accepted" and body["ontology_version"] == before + 1
    council = [i["id"] for i in pending if i["head"]["name"] == "The Nordic Ore Council"]
    assert council and set(council) <= set(body["items"])  # the same relation, now allowed, in another document
    changes = c.get(f"{C}/ontology/diff", params={"from": before}, headers=admin).json()
    assert changes["relation_types_changed"] == [
        {"name": "BORN_IN", "added": {"head": ["Organization"]}, "removed": {}}]
    assert ("BORN_IN", "Turku") in _neighbours(queued, "Harju Mills")
    assert ("BORN_IN", "Stockholm") in _neighbours(queued, "The Nordic Ore Council")
    assert not [i for i in _queue(queued, kind="rejected")["items"] if i["relation"] == "BORN_IN"]
    accepted = _queue(queued, status="accepted")
    assert {item["id"], *council} <= {i["id"] for i in accepted["items"]}
    assert accepted["items"][0]["decided_by"].startswith("key:")


def test_a_curator_key_narrowed_by_principals_is_refused(queued: Harness) -> None:
    # review decisions change the whole graph (and may widen the ontology): curator work needs a key that sees
    # every document, as the rest of curation does
    db = ServerDB(server_db_path(queued.settings.data_dir))
    try:
        hr = {"X-API-Key": KeyStore(db).create("curator", ["review"], "curator-hr", ["group:hr"])[1]}
    finally:
        db.close()
    item = _queue(queued)["items"][0]
    for res in (queued.client.get(f"{C}/review", headers=hr),
                queued.client.post(f"{C}/review/{item['id']}/dismiss", headers=hr)):
        assert res.status_code == 403 and "every document" in res.json()["detail"]
