"""A key restricted by principals can neither read nor overwrite a document it may not see, nor see others' jobs."""

from __future__ import annotations

import time

from service.keys import KeyStore
from service.serverdb import ServerDB, server_db_path
from tests.api.conftest import Harness


def _key(harness: Harness, role: str, principals: list[str]) -> dict[str, str]:
    db = ServerDB(server_db_path(harness.settings.data_dir))
    try:
        return {"X-API-Key": KeyStore(db).create(role, ["beta"], f"{role}-hr", principals)[1]}
    finally:
        db.close()


def test_a_restricted_editor_cannot_replace_a_hidden_upload(harness: Harness) -> None:
    c = harness.client
    secret = b"Ledger Nine\n\nLedger Nine is a confidential audit of Orvane Mining."
    up = c.post("/v1/collections/beta/documents", files=[("files", ("ledger.txt", secret))],
                data={"acl": "group:finance"}, headers=harness.h("editor_beta"))
    assert up.status_code == 202, up.text
    job = harness.wait_job("beta", up.json()["id"])
    assert job["state"] == "succeeded", job
    hidden_id = job["documents"][0]

    editor = _key(harness, "editor", ["group:hr"])
    deadline = time.monotonic() + 10  # the server's key snapshot picks the new key up within seconds
    while c.get("/v1/collections/beta", headers=editor).status_code == 401 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert c.get(f"/v1/collections/beta/documents/{hidden_id}", headers=editor).status_code == 404
    assert c.get(f"/v1/collections/beta/jobs/{up.json()['id']}", headers=editor).status_code == 404
    assert all(j["id"] != up.json()["id"] for j in c.get("/v1/collections/beta/jobs", headers=editor).json())
    again = c.post("/v1/collections/beta/documents", files=[("files", ("ledger.txt", b"Ledger Nine is public."))],
                   headers=editor)
    assert again.status_code == 202, again.text
    assert harness.wait_job("beta", again.json()["id"], key="admin")["state"] == "succeeded"

    kept = c.get(f"/v1/collections/beta/documents/{hidden_id}", headers=harness.h("admin")).json()
    assert kept["text"] == secret.decode() and kept["sha256"]  # the hidden document is untouched
    own = c.get("/v1/collections/beta/documents", params={"limit": 500}, headers=editor).json()["items"]
    mine = [d["id"] for d in own if d["source"].endswith("ledger.txt")]
    assert mine and hidden_id not in {d["id"] for d in own}
    for doc_id in (hidden_id, *mine):
        assert c.delete(f"/v1/collections/beta/documents/{doc_id}", headers=harness.h("admin")).status_code == 200


def test_a_restricted_reader_sees_public_jobs_but_not_those_with_an_acl(harness: Harness) -> None:
    c = harness.client
    public = c.post("/v1/collections/beta/documents", headers=harness.h("editor_beta"),
                    json={"documents": [{"id": "pub-1", "text": "Kiruna lies in Lapland."},
                                        {"id": "sec-1", "text": "The Kiruna ledger is closed.", "acl": ["group:x"]}]})
    plain = c.post("/v1/collections/beta/documents", headers=harness.h("editor_beta"),
                   json={"documents": [{"id": "pub-2", "text": "Lapland is in the north."}]})
    for job in (public, plain):
        assert harness.wait_job("beta", job.json()["id"])["state"] == "succeeded"
    reader = harness.h("reader_beta")  # no principals: documents without an ACL only
    assert c.get(f"/v1/collections/beta/jobs/{public.json()['id']}", headers=reader).status_code == 404
    seen = c.get(f"/v1/collections/beta/jobs/{plain.json()['id']}", headers=reader).json()
    assert seen["state"] == "succeeded" and len(seen["documents"]) == 1
    listed = {j["id"] for j in c.get("/v1/collections/beta/jobs", headers=reader).json()}
    assert plain.json()["id"] in listed and public.json()["id"] not in listed
    admin = {j["id"] for j in c.get("/v1/collections/beta/jobs", headers=harness.h("admin")).json()}
    assert {plain.json()["id"], public.json()["id"]} <= admin
    for doc_id in seen["documents"] + c.get(f"/v1/collections/beta/jobs/{public.json()['id']}",
                                            headers=harness.h("admin")).json()["documents"]:
        assert c.delete(f"/v1/collections/beta/documents/{doc_id}", headers=harness.h("admin")).status_code == 200
