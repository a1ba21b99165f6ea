"""The web app in a real browser against a real ``hopgraph serve`` (default reader, embedded store): sign in,
upload documents and watch the job, ask a multi-hop question (streamed answer, highlighted cited span, a path edge
with its evidence), curate (merge two entities, then revert), and a reader key that sees no curation controls and
gets 403 when it tries anyway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_server_e2e import Server, _serve
from tests.conftest import SAMPLES, run_cli

QUESTION = "Who founded the company that owns Baltia Lines?"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    env = {**os.environ, "HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_GRAPH_STORE": "embedded",
           "HOPGRAPH_VECTOR_STORE": "embedded", "HOPGRAPH_THREADS": "2", "HOPGRAPH_LLM_MODEL": "default",
           "HOPGRAPH_LLM_MAX_TOKENS": "32"}
    with _serve(tmp_path_factory.mktemp("web") / "data", env) as srv:
        keys = {}
        for name, args in (("admin", ["--role", "admin"]), ("reader", ["--role", "reader", "--collections", "web"])):
            made = run_cli("keys", "create", *args, "--name", name, data_dir=srv.data, env=srv.env, timeout=120)
            assert made.returncode == 0, made.stderr
            keys[name] = made.stdout.strip()
        admin = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=60)
        assert admin.post("/v1/collections", json={"name": "web"}).status_code == 201
        yield srv, keys


def _sign_in(page: Any, url: str, key: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#apikey", key)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")


def test_analyst_and_curator_flows(browser: Any, site: tuple[Server, dict[str, str]]) -> None:
    srv, keys = site
    # the page's CSP forbids eval, which Playwright's wait_for_function needs: these flows bypass it; the CSP itself
    # is held by test_bad_key_shows_the_problem, which runs the page under it
    page = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, srv.url, keys["admin"])
    assert page.locator("#collection").input_value() == "web"
    assert page.locator("a[data-page=operations]").is_visible()

    # documents: upload several files at once, watch the job to its end
    page.click("a[data-page=documents]")
    page.set_input_files("#files", [str(p) for p in sorted(SAMPLES.iterdir()) if p.is_file()])
    page.wait_for_selector("li.job[data-state=succeeded]", timeout=180_000)
    assert "8/8 documents" in page.inner_text("#jobs")
    page.wait_for_function("document.querySelectorAll('#docs tr').length === 8")
    page.fill("#docs-q", "corvel")  # searched on the server, over every document, by title or source
    page.wait_for_function("document.querySelectorAll('#docs tr').length === 1")
    page.select_option("#docs-match", "text")  # by the documents' text: Northwind's names Corvel too
    page.wait_for_function("document.querySelectorAll('#docs tr').length >= 2")
    page.locator("#docs tr a").first.click()
    page.wait_for_selector("#document:not([hidden])")
    assert "Corvel Robotics" in page.inner_text("#document-text")
    page.fill("#docs-q", "")

    # ask: tokens stream into the answer, then citations link to highlighted spans and the graph draws the paths
    page.click("a[data-page=ask]")
    page.evaluate("""() => { window.tokenMutations = 0; new MutationObserver(() => {
        if (document.getElementById('answer').classList.contains('streaming')) window.tokenMutations++; })
        .observe(document.getElementById('answer'), {childList: true, characterData: true, subtree: true}); }""")
    page.fill("#question", QUESTION)
    page.click("#ask-button")
    page.wait_for_function("document.getElementById('answer-flags').textContent.length > 0", timeout=240_000)
    answer = page.inner_text("#answer")
    assert "Ilse Marnik" in answer, answer
    assert page.evaluate("window.tokenMutations") >= 2  # streamed, not set at once
    assert page.locator("#answer a.cite").count() >= 1
    page.locator("#answer a.cite").first.click()
    assert page.locator("mark.cited").count() >= 1 and page.locator("mark.cited").first.inner_text().strip()
    page.wait_for_selector("#ask-graph svg .edge")
    page.locator("#ask-graph .edge").first.click()
    assert page.inner_text("#edge-evidence").startswith("Evidence")
    assert page.locator("#steps li").count() >= 1 and QUESTION in page.inner_text("#history")

    # curate: merge one entity into another from the entity page, then revert the merge from the curation page
    api = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=60)
    target = api.get("/v1/collections/web/entities", params={"q": "Northwind Holdings"}).json()[0]
    source = api.get("/v1/collections/web/entities", params={"q": "Corvel Robotics"}).json()[0]
    page.click("a[data-page=entities]")
    page.fill("#ent-q", "Northwind Holdings")
    page.click("#ent-form button[type=submit]")
    page.click(f"#ent-hits a[href='#/entities/{target['id']}']")
    page.wait_for_selector("#entity:not([hidden])")
    page.wait_for_selector("#ent-graph svg .node")
    page.wait_for_selector("#entity-docs li a")  # the documents that mention it
    assert "Northwind Holdings" in page.inner_text("#entity-docs")
    page.fill("#merge-ids", source["id"])
    page.click("#merge-button")
    page.wait_for_function("document.getElementById('entity-aliases').textContent.includes('Corvel Robotics')",
                           timeout=120_000)
    assert api.get(f"/v1/collections/web/entities/{source['id']}").status_code == 404
    page.click("a[data-page=curation]")
    record = page.locator(f"#records li[data-key='merge:{source['id']}']")
    record.wait_for()
    record.locator("button").click()
    page.wait_for_function(f"!document.querySelector(\"#records li[data-key='merge:{source['id']}']\")",
                           timeout=60_000)
    deadline_ok = False
    for _ in range(200):
        if api.get(f"/v1/collections/web/entities/{source['id']}").status_code == 200:
            deadline_ok = True
            break
        page.wait_for_timeout(300)
    assert deadline_ok, "the reverted merge did not bring the entity back"

    # the review queue: what extraction proposed with low confidence, dismissed in one click
    page.reload()
    page.wait_for_selector("#review li[data-kind]")
    assert "pending" in page.inner_text("#review-counts")
    item = page.locator("#review li[data-kind=low_confidence]").first
    item_id = item.get_attribute("data-item")
    item.locator("button.secondary").click()
    page.wait_for_function(f"!document.querySelector(\"#review li[data-item='{item_id}']\")", timeout=60_000)
    page.select_option("#review-status", "dismissed")
    page.wait_for_selector(f"#review li[data-item='{item_id}']")

    # operations: live charts from /metrics, latency as percentiles of the histogram between two samples
    page.click("a[data-page=operations]")
    page.wait_for_function("document.querySelectorAll('#charts figure').length === 5")
    captions = page.inner_text("#charts")
    assert "Latency p50" in captions and "Latency p95" in captions
    page.wait_for_function("/Latency p95: \\d/.test(document.getElementById('charts').innerText)", timeout=15_000)
    assert errors == []
    page.close()


def test_reader_sees_no_curation_controls_and_is_refused(browser: Any, site: tuple[Server, dict[str, str]]) -> None:
    srv, keys = site
    page = browser.new_context(bypass_csp=True, viewport={"width": 1024, "height": 768}).new_page()
    _sign_in(page, srv.url, keys["reader"])
    assert not page.locator("a[data-page=curation]").is_visible()
    assert not page.locator("a[data-page=operations]").is_visible()
    assert not page.locator("#dropzone").is_visible()
    page.click("a[data-page=entities]")
    page.fill("#ent-q", "Ilse Marnik")
    page.click("#ent-form button[type=submit]")
    page.locator("#ent-hits a").first.click()
    page.wait_for_selector("#entity:not([hidden])")
    assert not page.locator("#curate-form").is_visible()
    page.goto(srv.url + "/#/curation")  # typed by hand: the page says why not
    page.wait_for_selector("#problem:not([hidden])")
    assert "Forbidden" in page.inner_text("#problem-title")
    # and the API refuses it even from the page's own origin and key
    status = page.evaluate("""async () => (await fetch('/v1/collections/web/entities/merge', {method: 'POST',
        headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('hopgraph.key'),
                  'Content-Type': 'application/json'}, body: JSON.stringify({sources: ['a'], target: 'b'})})).status""")
    assert status == 403
    page.close()


def test_under_its_csp_the_page_works_and_a_bad_key_shows_the_problem(browser: Any,
                                                                      site: tuple[Server, dict[str, str]]) -> None:
    srv, keys = site
    page = browser.new_page(viewport={"width": 820, "height": 1180})  # a tablet, CSP enforced
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    page.on("pageerror", lambda exc: console.append(str(exc)))
    page.goto(srv.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#apikey", "not-a-key")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#problem:not([hidden])")
    assert "invalid or revoked" in page.inner_text("#problem-detail") and page.locator("#page-signin").is_visible()
    _sign_in(page, srv.url, keys["admin"])
    page.click("a[data-page=operations]")
    page.wait_for_selector("#keys tr")
    page.wait_for_selector("#charts figure")
    page.click("a[data-page=documents]")
    page.wait_for_selector("#docs tr")
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
    page.close()
