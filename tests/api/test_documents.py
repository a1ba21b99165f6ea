"""Documents over HTTP: ingest jobs (files and JSON), listing, reading, deleting, upload errors."""

from __future__ import annotations

from tests.api.conftest import BETA_DOCS, Harness


def test_ingest_job_reports_documents_and_progress(harness: Harness) -> None:
    url = f"/v1/collections/alpha/jobs/{harness.ids['alpha_job']}"
    job = harness.client.get(url, headers=harness.h("reader_alpha"))
    body = job.json()
    assert job.status_code == 200 and body["state"] == "succeeded"
    assert body["progress"]["done"] == body["progress"]["total"] == 8
    assert body["progress"]["text_done"] == body["progress"]["text_total"] > 0  # all of the text, in characters
    assert body["report"]["documents"] == 8 and len(body["documents"]) == 8
    assert sorted(body["files"]) == ["baltia_lines.html", "corvel_robotics.md", "ilse_marnik.md",
                                      "northwind_holdings.md", "people.jsonl", "tampere.txt"]
    listed = harness.client.get("/v1/collections/alpha/jobs", headers=harness.h("reader_alpha")).json()
    assert harness.ids["alpha_job"] in [j["id"] for j in listed]


def test_json_documents_get_the_ids_announced_in_the_202(harness: Harness) -> None:
    assert sorted(harness.ids["beta_predicted"]) == sorted(harness.ids["beta_docs"])
    doc_id = harness.ids["beta_predicted"][0]
    doc = harness.client.get(f"/v1/collections/beta/documents/{doc_id}", headers=harness.h("reader_beta")).json()
    assert doc["title"] == BETA_DOCS[0]["title"] and BETA_DOCS[0]["text"] in doc["text"]


def test_resending_is_idempotent(harness: Harness) -> None:
    res = harness.client.post("/v1/collections/beta/documents", json={"documents": BETA_DOCS[:1]},
                              headers=harness.h("editor_beta"))
    assert res.status_code == 202 and res.headers["location"].endswith(res.json()["id"])
    job = harness.wait_job("beta", res.json()["id"])
    assert job["state"] == "succeeded" and job["report"]["documents"] == 0 and job["report"]["unchanged"] == 1


def test_documents_are_paged_and_readable(harness: Harness) -> None:
    first = harness.client.get("/v1/collections/alpha/documents?limit=3", headers=harness.h("reader_alpha")).json()
    rest = harness.client.get("/v1/collections/alpha/documents?offset=3&limit=50",
                              headers=harness.h("reader_alpha")).json()
    assert first["total"] == 8 and len(first["items"]) == 3 and len(rest["items"]) == 5
    ids = [d["id"] for d in first["items"] + rest["items"]]
    assert ids == sorted(ids) and sorted(ids) == sorted(harness.ids["alpha_docs"])
    assert all("/" not in d["source"] or d["source"].startswith("records/") for d in first["items"])
    one = harness.client.get(f"/v1/collections/alpha/documents/{ids[0]}", headers=harness.h("reader_alpha")).json()
    assert one["id"] == ids[0] and one["text"]
    missing = harness.client.get("/v1/collections/alpha/documents/nope", headers=harness.h("reader_alpha"))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_documents_are_searched_by_title_and_by_text(harness: Harness) -> None:
    c, h = harness.client, harness.h("reader_alpha")
    by_title = c.get("/v1/collections/alpha/documents?q=CORVEL", headers=h).json()
    assert by_title["total"] == 1 and [d["source"] for d in by_title["items"]] == ["corvel_robotics.md"]
    by_text = c.get("/v1/collections/alpha/documents?q=Corvel%20Robotics&match=text", headers=h).json()
    sources = [d["source"] for d in by_text["items"]]
    assert sources[0] == "corvel_robotics.md" and "northwind_holdings.md" in sources  # named in its text only
    assert by_text["total"] == len(sources)
    none = c.get("/v1/collections/alpha/documents?q=zzzz-nothing", headers=h).json()
    assert none == {"items": [], "offset": 0, "limit": 50, "total": 0}
    bad = c.get("/v1/collections/alpha/documents?q=x&match=body", headers=h)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_an_entity_lists_the_documents_that_mention_it(harness: Harness) -> None:
    c, h = harness.client, harness.h("reader_alpha")
    hit = c.get("/v1/collections/alpha/entities?q=Corvel%20Robotics", headers=h).json()[0]
    entity = c.get(f"/v1/collections/alpha/entities/{hit['id']}", headers=h).json()
    titles = {d["title"] for d in entity["documents"]}
    assert entity["document_count"] == len(entity["documents"]) >= 2
    assert {"Corvel Robotics", "Northwind Holdings"} <= titles


def test_delete_removes_the_document_and_what_it_alone_contributed(harness: Harness) -> None:
    c, h = harness.client, harness.h("editor_beta")
    text = "Quellbrook Ferry was founded by Anselm Vey in Quellbrook."
    res = c.post("/v1/collections/beta/documents", headers=h,
                 json={"documents": [{"id": "tmp", "title": "Quellbrook Ferry", "text": text}]})
    job = harness.wait_job("beta", res.json()["id"])
    [doc_id] = job["documents"]
    found = c.get("/v1/collections/beta/entities", params={"q": "Anselm Vey"}, headers=h).json()
    assert found and found[0]["name"] == "Anselm Vey"
    gone = c.delete(f"/v1/collections/beta/documents/{doc_id}", headers=h)
    assert gone.status_code == 200 and gone.json()["entities_removed"] >= 2
    assert c.get(f"/v1/collections/beta/documents/{doc_id}", headers=h).status_code == 404
    assert c.get("/v1/collections/beta/entities", params={"q": "Anselm Vey"}, headers=h).json() == []
    assert c.get(f"/v1/collections/beta/entities/{found[0]['id']}", headers=h).status_code == 404
    assert c.delete(f"/v1/collections/beta/documents/{doc_id}", headers=h).status_code == 404
    audit = c.get("/v1/collections/beta/audit", headers=harness.h("curator_beta")).json()
    entry = next(a for a in audit if a["action"] == "document.delete" and a["target"] == doc_id)
    assert entry["key_name"] == "editor-beta" and entry["before"]["title"] == "Quellbrook Ferry"


def test_bad_files_fail_in_the_job_and_the_rest_is_ingested(harness: Harness) -> None:
    files = [("files", ("good.md", b"# Vell Harbour\n\nVell Harbour was built by Ondrej Maly.")),
             ("files", ("broken.json", b'[{"text": "ok"}, {"text": ')),
             ("files", ("empty.txt", b""))]
    res = harness.client.post("/v1/collections/beta/documents", files=files, headers=harness.h("editor_beta"))
    job = harness.wait_job("beta", res.json()["id"])
    assert job["state"] == "succeeded" and job["report"]["documents"] == 1
    reasons = {e["file"]: e["reason"] for e in job["errors"]}
    assert set(reasons) == {"files/broken.json", "files/empty.txt"}
    assert "invalid JSON" in reasons["files/broken.json"] and "empty" in reasons["files/empty.txt"]
    assert all(str(harness.settings.data_dir) not in r for r in reasons.values())  # no server paths leak


def test_upload_errors_are_problems(harness: Harness) -> None:
    c, h = harness.client, harness.h("editor_beta")
    exe = c.post("/v1/collections/beta/documents", files=[("files", ("tool.exe", b"MZ..."))], headers=h)
    assert exe.status_code == 415 and exe.headers["content-type"].startswith("application/problem+json")
    assert "unsupported file type" in exe.json()["detail"]
    big = b"word " * (harness.settings.max_file_bytes // 5 + 1)
    too_big = c.post("/v1/collections/beta/documents", files=[("files", ("big.txt", big))], headers=h)
    assert too_big.status_code == 413 and "exceeds the limit" in too_big.json()["detail"]
    wrong_type = c.post("/v1/collections/beta/documents", content=b"hello", headers={**h, "content-type": "text/plain"})
    assert wrong_type.status_code == 415
    bad = c.post("/v1/collections/beta/documents", json={"documents": [{"title": "no text"}]}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "documents[0].text"
    assert "text" in bad.json()["detail"]
    empty = c.post("/v1/collections/beta/documents", json={"documents": []}, headers=h)
    assert empty.status_code == 422 and empty.json()["field"] == "documents"
    no_files = c.post("/v1/collections/beta/documents", data={"x": "y"}, files=[], headers=h)
    assert no_files.status_code in (415, 422)
