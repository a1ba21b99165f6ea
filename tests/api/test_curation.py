"""Entity curation over HTTP: rename/retype/aliases, merge, split; audited; never undone by re-ingest."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Harness

C = "/v1/collections/curated"
DOCS = [
    {"id": "c1", "title": "Orvane Mining",
     "text": "Orvane Mining was founded by Petra Lindqvist in Kiruna in 1987. Orvane Mining operates the Skarn Deep "
             "mine near Kiruna."},
    {"id": "c2", "title": "Nordic Ore Council",
     "text": "The Nordic Ore Council was chaired by P. Lindqvist from 2001. The Nordic Ore Council meets in "
             "Stockholm."},
    {"id": "c3", "title": "Kiruna ship",
     "text": "The icebreaker Kiruna was built in Turku in 1965. Kiruna served the port of Luleå for thirty years."},
]


def _find(hz: Harness, name: str) -> str:
    hits = hz.client.get(f"{C}/entities", params={"q": name}, headers=hz.h("admin")).json()
    assert hits and hits[0]["score"] == 1.0, (name, hits)
    entity_id: str = hits[0]["id"]
    return entity_id


def _entity(hz: Harness, entity_id: str) -> dict[str, Any]:
    res = hz.client.get(f"{C}/entities/{entity_id}", headers=hz.h("admin"))
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _accepted(hz: Harness, res: Any) -> dict[str, Any]:
    assert res.status_code == 202, res.text
    body: dict[str, Any] = res.json()
    assert body["job"]["kind"] == "curate" and res.headers["location"].endswith(body["job"]["id"])
    cancel = hz.client.delete(f"{C}/jobs/{body['job']['id']}", headers=hz.h("admin"))
    assert cancel.status_code == 409  # a curate job is never cancelled: its change is in force
    done = hz.wait_job("curated", body["job"]["id"])
    assert done["state"] == "succeeded", done
    return body


@pytest.fixture(scope="module")
def curated(harness: Harness) -> Harness:
    c = harness.client
    assert c.post("/v1/collections", json={"name": "curated"}, headers=harness.h("admin")).status_code == 201
    job = c.post(f"{C}/documents", json={"documents": DOCS}, headers=harness.h("admin"))
    assert harness.wait_job("curated", job.json()["id"])["state"] == "succeeded"
    return harness


def test_edit_renames_retypes_and_adds_aliases_and_survives_reingest(curated: Harness) -> None:
    hz, c = curated, curated.client
    orvane = _find(hz, "Orvane Mining")
    body = _accepted(hz, c.patch(f"{C}/entities/{orvane}", json={"name": "Orvane Mining AB", "add_aliases": ["OMAB"]},
                                 headers=hz.h("admin")))
    assert body["entity"]["name"] == "Orvane Mining AB"
    ent = _entity(hz, orvane)
    assert ent["name"] == "Orvane Mining AB" and {"OMAB", "Orvane Mining"} <= set(ent["aliases"])
    assert _find(hz, "OMAB") == orvane
    # a changed document mentioning it is ingested again: the curated name stays
    changed = {**DOCS[0], "text": DOCS[0]["text"] + " Orvane Mining employs 900 people."}
    job = c.post(f"{C}/documents", json={"documents": [changed]}, headers=hz.h("admin"))
    assert hz.wait_job("curated", job.json()["id"])["state"] == "succeeded"
    ent = _entity(hz, orvane)
    assert ent["name"] == "Orvane Mining AB" and "OMAB" in ent["aliases"]
    audit = c.get(f"{C}/audit", headers=hz.h("admin")).json()
    entry = next(a for a in audit if a["action"] == "entity.edit")
    assert entry["target"] == orvane and entry["before"]["name"] == "Orvane Mining"
    assert entry["after"]["name"] == "Orvane Mining AB" and entry["key_name"] == "admin"


def test_merge_moves_mentions_and_relations_to_the_target(curated: Harness) -> None:
    hz, c = curated, curated.client
    petra, short = _find(hz, "Petra Lindqvist"), _find(hz, "P. Lindqvist")
    assert petra != short
    _accepted(hz, c.post(f"{C}/entities/merge", json={"sources": [short], "target": petra}, headers=hz.h("admin")))
    assert c.get(f"{C}/entities/{short}", headers=hz.h("admin")).status_code == 404
    ent = _entity(hz, petra)
    assert "P. Lindqvist" in ent["aliases"]
    assert _find(hz, "P. Lindqvist") == petra
    assert "mentioned in 2 passage(s) of 2 document(s)" in ent["description"]


def test_split_by_document_makes_a_new_entity(curated: Harness) -> None:
    hz, c = curated, curated.client
    kiruna = _find(hz, "Kiruna")
    docs = c.get(f"{C}/documents", headers=hz.h("admin")).json()["items"]
    ship_doc = next(d["id"] for d in docs if d["title"] == "Kiruna ship")
    body = _accepted(hz, c.post(f"{C}/entities/{kiruna}/split",
                                json={"name": "Kiruna (icebreaker)", "type": "Product", "documents": [ship_doc]},
                                headers=hz.h("admin")))
    new_id = body["entity"]["id"]
    ship = _entity(hz, new_id)
    assert ship["name"] == "Kiruna (icebreaker)" and ship["type"] == "Product"
    assert "of 1 document(s)" in ship["description"]
    town = _entity(hz, kiruna)
    assert "of 1 document(s)" in town["description"] and town["type"] == "Location"
    audit = c.get(f"{C}/audit", headers=hz.h("admin")).json()
    assert any(a["action"] == "entity.split" and a["after"]["id"] == new_id for a in audit)


def test_bad_curation_requests_are_refused_with_the_field(curated: Harness) -> None:
    hz, c = curated, curated.client
    orvane = _find(hz, "Orvane Mining AB")
    assert c.patch(f"{C}/entities/nope", json={"name": "X"}, headers=hz.h("admin")).status_code == 404
    bad_type = c.patch(f"{C}/entities/{orvane}", json={"type": "Spaceship"}, headers=hz.h("admin"))
    assert bad_type.status_code == 400 and bad_type.json()["field"] == "type"
    nothing = c.patch(f"{C}/entities/{orvane}", json={}, headers=hz.h("admin"))
    assert nothing.status_code == 400
    unknown = c.patch(f"{C}/entities/{orvane}", json={"colour": "red"}, headers=hz.h("admin"))
    assert unknown.status_code in (400, 422)
    itself = c.post(f"{C}/entities/merge", json={"sources": [orvane], "target": orvane}, headers=hz.h("admin"))
    assert itself.status_code == 409
    split = c.post(f"{C}/entities/{orvane}/split", json={"name": "Y"}, headers=hz.h("admin"))
    assert split.status_code == 400 and split.json()["field"] == "surfaces"
    # roles and collections: a curator of another collection, a reader of this one
    other = c.patch(f"{C}/entities/{orvane}", json={"name": "Z"}, headers=hz.h("curator_alpha"))
    assert other.status_code in (403, 404)
    beta_reader = c.patch("/v1/collections/beta/entities/x", json={"name": "Z"}, headers=hz.h("reader_beta"))
    assert beta_reader.status_code == 403
    assert _entity(hz, orvane)["name"] == "Orvane Mining AB"


def test_records_are_listed_and_a_revert_undoes_the_change(curated: Harness) -> None:
    hz, c = curated, curated.client
    records = c.get(f"{C}/curation", headers=hz.h("admin")).json()
    kinds = {r["kind"] for r in records}
    assert {"edit", "merge", "split"} <= kinds
    merge = next(r for r in records if r["kind"] == "merge")
    assert c.get(f"{C}/curation", headers=hz.h("reader_beta")).status_code in (403, 404)
    petra = merge["rule"]["target"]
    assert _entity(hz, petra)["curated"] is True  # a merge pins the target
    body = _accepted(hz, c.delete(f"{C}/curation/{merge['key']}", headers=hz.h("admin")))
    assert body["action"] == "curation.revert" and body["entity"]["reverted"] == [merge["key"]]
    assert _find(hz, "P. Lindqvist") == merge["entity"]  # the merged-away entity is back
    assert "P. Lindqvist" not in _entity(hz, petra)["aliases"]
    assert c.delete(f"{C}/curation/{merge['key']}", headers=hz.h("admin")).status_code == 404
    audit = c.get(f"{C}/audit", headers=hz.h("admin")).json()
    assert any(a["action"] == "curation.revert" and a["target"] == merge["key"] for a in audit)
