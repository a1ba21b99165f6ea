"""Document-level access control, the strongest form of "no leak": a key without the group receives, from
every read endpoint and in every retrieval mode, responses byte-identical to those of a collection where the
hidden documents were never ingested; the CLI with ``--principals`` too.

Each side runs a real ``hopgraph serve`` on the same data directory path (document ids derive from the
source path), one after the other: first with every passage (every other one with an ACL naming a group
the key lacks, so that hidden and visible documents interleave in every ingest batch), then with the
visible passages alone. Only timings (``latency_ms``, ``timings``, a reader step's ``seconds``, the measured
seconds of ``usage``) differ between any two runs and are left out of the comparison.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.errors import StoreError
from core.settings import load_settings
from graph.store import drop_graph_data
from tests.api.test_server_e2e import _env, _serve
from tests.conftest import MUSIQUE, run_cli, service_missing

GROUP = "group:finance"
PRINCIPALS = "group:hr,user:ana"
N_PASSAGES = 60
MODES = ("dense", "keyword", "graph", "hybrid")
TIMINGS = frozenset({"latency_ms", "timings", "seconds", "cpu_s", "retrieval_s", "generation_s"})  # usage: tokens stay


def _records() -> list[dict[str, Any]]:
    corpus = json.loads((MUSIQUE / "corpus.json").read_text())[:N_PASSAGES]
    return [{"id": f"p{i:03d}", "title": r["title"], "text": r["text"], **({"acl": [GROUP]} if i % 2 else {})}
            for i, r in enumerate(corpus)]


def _questions() -> list[str]:
    return [q["question"] for q in json.loads((MUSIQUE / "questions.json").read_text())]


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _body(res: httpx.Response) -> str:
    """Status and body; JSON without its timings, re-serialised exactly as sent otherwise."""
    if res.headers.get("content-type", "").startswith(("application/json", "application/problem+json")):
        return f"{res.status_code} {json.dumps(_untimed(res.json()), sort_keys=True)}"
    return f"{res.status_code} {res.text}"


def _events(res: httpx.Response) -> str:
    """A stream's events, the final answer without its timings."""
    out: list[str] = [str(res.status_code)]
    event = ""
    for line in res.text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = line.split(":", 1)[1].strip()
            out.append(f"{event} {json.dumps(_untimed(json.loads(data)), sort_keys=True) if data else ''}")
    return "\n".join(out)


def _around(text: str, other: str) -> str:
    """``text`` near where it first differs from ``other``."""
    at = next((i for i, (a, b) in enumerate(zip(text, other, strict=False)) if a != b), min(len(text), len(other)))
    return f"...{text[max(0, at - 150):at + 250]!r} (at {at})"


def _wait(client: httpx.Client, collection: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while True:
        job: dict[str, Any] = client.get(f"/v1/collections/{collection}/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def _key(data: Path, env: dict[str, str], *args: str) -> str:
    res = run_cli("keys", "create", *args, data_dir=data, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


class Probes:
    """What both sides are asked about: every document and entity id the full collection holds, every title
    as an entity search, pairs of entities for /paths (taken from the first side, with an admin key)."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.doc_ids: list[str] = []
        self.entity_ids: list[str] = []
        self.names: list[str] = []
        self.hidden_markers: list[str] = []


def _gather(admin: httpx.Client, records: list[dict[str, Any]], probes: Probes) -> None:
    base = f"/v1/collections/{probes.collection}"
    docs = admin.get(f"{base}/documents", params={"limit": 500}).json()["items"]
    probes.doc_ids = sorted(d["id"] for d in docs) + ["no-such-document"]
    probes.names = [r["title"] for r in records]
    found: set[str] = set()
    for name in probes.names:
        found.update(h["id"] for h in admin.get(f"{base}/entities", params={"q": name}).json())
    probes.entity_ids = sorted(found)[:80] + ["no-such-entity"]
    public = " ".join(f"{r['title']} {r['text']}" for r in records if "acl" not in r).casefold()
    probes.hidden_markers = sorted({r["title"] for r in records if "acl" in r and r["title"].casefold() not in public})


def _observe(client: httpx.Client, editor: httpx.Client, probes: Probes) -> dict[str, str]:
    seen: dict[str, str] = {}

    def ask(name: str, call: Callable[[], httpx.Response], shape: Callable[[httpx.Response], str] = _body) -> None:
        seen[name] = shape(call())

    base = f"/v1/collections/{probes.collection}"
    ask("collections", lambda: client.get("/v1/collections"))
    ask("collection", lambda: client.get(base))
    ask("documents", lambda: client.get(f"{base}/documents", params={"limit": 500}))
    ask("documents page 2", lambda: client.get(f"{base}/documents", params={"offset": 7, "limit": 5}))
    for doc_id in probes.doc_ids:
        ask(f"document {doc_id}", lambda d=doc_id: client.get(f"{base}/documents/{d}"))
    for name in probes.names:
        ask(f"search {name}", lambda n=name: client.get(f"{base}/entities", params={"q": n, "limit": 20}))
        ask(f"prefix {name[:3]}", lambda n=name: client.get(f"{base}/entities", params={"q": n[:3], "limit": 50}))
    for eid in probes.entity_ids:
        ask(f"entity {eid}", lambda e=eid: client.get(f"{base}/entities/{e}", params={"limit": 200}))
    for a, b in zip(probes.entity_ids[:40:2], probes.entity_ids[1:40:2], strict=True):
        ask(f"path {a} {b}", lambda a=a, b=b: client.get(f"{base}/paths", params={"from": a, "to": b, "max_hops": 4}))
    for q in _questions():
        for mode in MODES:
            ask(f"retrieve {mode} {q}", lambda q=q, m=mode: client.post(f"{base}/retrieve",
                                                                         json={"question": q, "mode": m, "k": 8}))
        ask(f"extractive {q}", lambda q=q: client.post(f"{base}/query", json={"question": q, "extractive": True}))
    for q in _questions()[:2]:
        ask(f"generated {q}", lambda q=q: client.post(f"{base}/query", json={"question": q}, timeout=300))
    q = _questions()[2]
    ask("stream", lambda: client.post(f"{base}/query", json={"question": q, "stream": True}, timeout=300), _events)
    for doc_id in probes.doc_ids[:6]:  # the editor can neither delete nor learn of a hidden document
        if seen[f"document {doc_id}"].startswith("404"):
            ask(f"delete {doc_id}", lambda d=doc_id: editor.delete(f"{base}/documents/{d}"))
    ask("curation refused", lambda: client.get(f"{base}/curation"))
    return seen


def _run_server(data: Path, env: dict[str, str], records: list[dict[str, Any]], probes: Probes,
                gather: bool) -> tuple[dict[str, str], str]:
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    admin_key = _key(data, env, "--role", "admin")
    name = probes.collection
    reader_key = _key(data, env, "--role", "reader", "--collections", name, "--principals", PRINCIPALS)
    editor_key = _key(data, env, "--role", "editor", "--collections", name, "--principals", PRINCIPALS)
    with _serve(data, env) as srv:
        with (httpx.Client(base_url=srv.url, headers={"X-API-Key": admin_key}, timeout=120) as admin,
              httpx.Client(base_url=srv.url, headers={"X-API-Key": reader_key}, timeout=120) as reader,
              httpx.Client(base_url=srv.url, headers={"X-API-Key": editor_key}, timeout=120) as editor):
            assert admin.post("/v1/collections", json={"name": name}).status_code == 201
            try:
                sent = admin.post(f"/v1/collections/{name}/documents", json={"documents": records})
                assert sent.status_code == 202, sent.text
                job = _wait(admin, name, sent.json()["id"])
                assert job["state"] == "succeeded" and not job["errors"], job
                if gather:
                    _gather(admin, records, probes)
                seen = _observe(reader, editor, probes)
                metrics = admin.get("/metrics").text
            finally:  # the server profile's labels and collections go with it
                admin.delete(f"/v1/collections/{name}")
    return seen, metrics


@pytest.fixture(scope="module", params=["embedded", "server"])
def sides(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          model_cache: Path) -> Iterator[tuple[dict[str, str], ...]]:
    base = tmp_path_factory.mktemp("access")
    env = {**_env(model_cache), "HOPGRAPH_API_RATE_PER_S": "0"}  # hundreds of calls in a few seconds
    if request.param == "server":
        env.update({"HOPGRAPH_GRAPH_STORE": "neo4j", "HOPGRAPH_VECTOR_STORE": "weaviate"})
        try:
            probe = load_settings(None, data_dir=base / "probe", graph_store="neo4j", neo4j_label_prefix="Probe")
            drop_graph_data(probe)
        except StoreError as exc:
            service_missing(f"Neo4j/Weaviate unreachable ({exc}): bash deploy/services.sh start && . .services/env")
    records = _records()
    probes = Probes(f"acl{uuid.uuid4().hex[:8]}")
    full, metrics = _run_server(base / "data", env, records, probes, gather=True)
    visible, _ = _run_server(base / "data", env, [r for r in records if "acl" not in r], probes, gather=False)
    yield full, visible, {"metrics": metrics, "markers": "\n".join(probes.hidden_markers)}


def test_a_key_without_the_group_sees_what_a_collection_without_the_documents_shows(
        sides: tuple[dict[str, str], ...]) -> None:
    full, visible, _ = sides
    assert full.keys() == visible.keys()
    differing = [name for name in full if full[name] != visible[name]]
    assert not differing, "\n".join(f"{n}:\n  with hidden:    {_around(full[n], visible[n])}\n"
                                    f"  never ingested: {_around(visible[n], full[n])}" for n in differing[:5])
    # the comparison is not vacuous: answers came back, hidden documents are 404, curation is refused
    assert sum(v.startswith("200") for v in full.values()) > 200
    assert full["document no-such-document"].startswith("404")
    assert sum(v.startswith("404") for k, v in full.items() if k.startswith("document ")) > N_PASSAGES // 2
    assert full["curation refused"].startswith("403")
    assert any(k.startswith("delete ") for k in full) and all(
        v.startswith("404") for k, v in full.items() if k.startswith("delete "))


def test_hidden_titles_are_nowhere_in_what_the_key_receives(sides: tuple[dict[str, str], ...]) -> None:
    full, _, extra = sides
    markers = [m for m in extra["markers"].splitlines() if len(m) > 6]
    assert markers
    blob = "\n".join(v for k, v in full.items() if not k.startswith(("search ", "prefix ")))
    leaked = [m for m in markers if m in blob]
    assert not leaked, leaked[:5]
    assert not [m for m in markers if m in extra["metrics"]]  # /metrics labels name no document either


def test_the_cli_with_principals_matches_a_store_without_the_documents(tmp_path: Path, model_cache: Path) -> None:
    records = _records()
    corpus = tmp_path / "corpus.json"
    data = tmp_path / "data"
    env = {"HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_LLM_MODEL": "fast"}
    question = _questions()[0]
    commands = [("stats",), ("docs", "list", "--limit", "500"), ("entities", "search", records[1]["title"]),
                ("ask", question, "--mode", "hybrid", "--extractive", "--json")]
    outputs: list[list[str]] = []
    for rows in (records, [r for r in records if "acl" not in r]):
        shutil.rmtree(data, ignore_errors=True)
        corpus.write_text(json.dumps(rows))
        ingested = run_cli("ingest", str(corpus), "--no-progress", data_dir=data, env=env)
        assert ingested.returncode == 0, ingested.stderr
        side: list[str] = []
        for args in commands:
            res = run_cli("--principals", PRINCIPALS, *args, data_dir=data, env=env)
            assert res.returncode == 0, res.stderr
            text = res.stdout.replace(str(data), "DATA")
            side.append(json.dumps(_untimed(json.loads(text)), sort_keys=True) if args[0] == "ask" else text)
        outputs.append(side)
    full, visible = outputs
    assert full == visible
    assert f"documents  {N_PASSAGES // 2}" in full[0], full[0]
    public = " ".join(f"{r['title']} {r['text']}" for r in records if "acl" not in r).casefold()
    hidden = [r["title"] for r in records if "acl" in r and r["title"].casefold() not in public]
    shown = "\n".join(out for args, out in zip(commands, full, strict=True) if args[0] != "entities")
    assert hidden and not [t for t in hidden if t in shown]
