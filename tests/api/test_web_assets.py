"""The web app's files are served from the package, with a strict content security policy, and nothing else is."""

from __future__ import annotations

from api.http.controllers.web import WEB
from tests.api.conftest import Harness


def test_page_and_assets(harness: Harness) -> None:
    page = harness.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/web/app.js">' in page.text
    scripts = sorted(p.name for p in WEB.glob("*.js"))
    assert {"app.js", "api.js", "graph.js", "ui.js", "curation.js"} <= set(scripts)
    for name, media in [*((s, "text/javascript") for s in scripts), ("app.css", "text/css")]:
        res = harness.client.get(f"/web/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith(media), name
        assert res.content == (WEB / name).read_bytes()
    for bad in ("/web/missing.js", "/web/..%2F..%2Fcontrollers%2Fweb.py", "/web/index.txt"):
        res = harness.client.get(bad)
        assert res.status_code == 404, bad
        assert res.json()["title"]  # a problem, like every other error


def test_page_needs_no_key_and_calls_only_its_origin(harness: Harness) -> None:
    assert harness.client.get("/").status_code == 200  # the page asks for the key itself
    for name in sorted(p.name for p in WEB.iterdir() if p.suffix in (".js", ".css", ".html")):
        text = (WEB / name).read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, name
    assert harness.client.get("/v1/whoami").status_code == 401
    me = harness.client.get("/v1/whoami", headers=harness.h("reader_alpha")).json()
    assert me["role"] == "reader" and me["collections"] == ["alpha"] and "key" not in me
