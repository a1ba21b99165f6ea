"""Web app benchmark in headless Chromium (Debian's, driven by Playwright) against a real ``hopgraph serve``.

The server holds the MuSiQue corpus in collection ``musique`` (ingested through the API on first use, kept in
--data-dir for later runs) and answers with the default reader. Measures:
- ``interactive_ms``: navigation start to the signed-in Ask page (key in the tab's session, collections loaded);
- ``ttft_ms``: the Ask button pressed to the first streamed token in the page (``answer_ms``: to the full answer);
- ``graph_200_ms``: the graph view drawing a 200-node neighbourhood (entities breadth-first from the question's,
  read through the API), layout and SVG included.
Writes screenshots of every page to --shots (default bench/results/ui/) and one JSON object to --out.

Usage: python bench/ui.py [--data-dir DIR] [--runs 3] [--shots DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import _admin_key, _free_port, _wait_ready, ensure_musique, stop_server  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "musique"
QUESTION = "Who is the spouse of the Green performer?"


def _neighbourhood(api: httpx.Client, seeds: list[str], size: int) -> dict[str, Any]:
    """A graph of ``size`` entities reached breadth-first from ``seeds`` through the API."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}
    queue = list(seeds)
    while queue and len(nodes) < size:
        eid = queue.pop(0)
        res = api.get(f"/v1/collections/musique/entities/{eid}")
        if res.status_code != 200:
            continue
        e = res.json()
        nodes.setdefault(e["id"], {"id": e["id"], "label": e["name"], "type": e["type"]})
        for n in e["neighbours"]:
            if len(nodes) >= size:
                break
            other = n["entity"]
            if other["id"] not in nodes:
                nodes[other["id"]] = {"id": other["id"], "label": other["name"], "type": other["type"]}
                queue.append(other["id"])
            s, t = (e["id"], other["id"]) if n["direction"] == "out" else (other["id"], e["id"])
            edges[f"{s}|{n['relation_type']}|{t}"] = {"source": s, "target": t, "label": n["relation_type"]}
    return {"nodes": list(nodes.values()), "edges": list(edges.values())}


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "hopgraph-ui-bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default=os.environ.get("HOPGRAPH_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--shots", type=Path, default=ROOT / "bench" / "results" / "ui")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ui.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.data_dir.mkdir(parents=True, exist_ok=True)
    args.shots.mkdir(parents=True, exist_ok=True)
    key = _admin_key(args.data_dir)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOPGRAPH_API_RATE_PER_S": "0", "HOPGRAPH_GRAPH_STORE": "embedded",
           "HOPGRAPH_VECTOR_STORE": "embedded"}
    log = (args.data_dir / "server.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "--data-dir", str(args.data_dir), "serve", "--port",
                             str(port), "--workers", "1", "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, proc)
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        ensure_musique(api, DATA / "corpus.json")
        linked = api.post("/v1/collections/musique/retrieve", json={"question": QUESTION}).json()["linked"]
        graph = _neighbourhood(api, [x["entity_id"] for x in linked] or ["none"], 200)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
            # Playwright's wait_for_function evaluates strings, which the page's CSP forbids: bypassed for measuring
            page = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 900}).new_page()
            page.add_init_script(f"sessionStorage.setItem('hopgraph.key', {json.dumps(key)});"
                                 "sessionStorage.setItem('hopgraph.collection', 'musique');")
            interactive, ttft, answer = [], [], []
            for _ in range(args.runs):
                page.goto(url + "/#/ask")
                page.wait_for_selector("#page-ask:not([hidden])")
                page.wait_for_selector("#collection option", state="attached")
                interactive.append(page.evaluate("performance.now()"))
            for i in range(args.runs):
                page.evaluate("""() => { window.firstToken = null; const a = document.getElementById('answer');
                    new MutationObserver(() => { if (window.firstToken === null && a.textContent.length > 0 &&
                    a.classList.contains('streaming')) window.firstToken = performance.now(); })
                    .observe(a, {childList: true, characterData: true, subtree: true}); }""")
                page.fill("#question", QUESTION if i == 0 else f"{QUESTION} ({i})")
                started = page.evaluate("performance.now()")
                page.click("#ask-button")
                page.wait_for_function("document.getElementById('answer-flags').textContent.length > 0",
                                       timeout=300_000)
                done = page.evaluate("performance.now()")
                first = page.evaluate("window.firstToken")
                ttft.append((first if first is not None else done) - started)
                answer.append(done - started)
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.shots / "ask.png"), full_page=True)
            draw_ms = [page.evaluate("""async (g) => { const m = await import('/web/graph.js');
                const box = document.getElementById('ask-graph'); return m.draw(box, g, {}); }""", graph)
                for _ in range(args.runs)]
            page.screenshot(path=str(args.shots / "graph-200.png"), full_page=True)
            for name in ("documents", "entities", "curation", "operations"):
                page.goto(f"{url}/#/{name}")
                page.wait_for_selector(f"#page-{name}:not([hidden])")
                if name == "entities" and graph["nodes"]:
                    page.goto(f"{url}/#/entities/{graph['nodes'][0]['id']}")
                    page.wait_for_selector("#ent-graph svg")
                page.wait_for_timeout(700)
                page.screenshot(path=str(args.shots / f"{name}.png"), full_page=True)
            browser.close()
        row = {"interactive_ms": round(statistics.median(interactive), 1),
               "ttft_ms": round(statistics.median(ttft), 1), "answer_ms": round(statistics.median(answer), 1),
               "graph_nodes": len(graph["nodes"]), "graph_edges": len(graph["edges"]),
               "graph_200_ms": round(statistics.median(draw_ms), 1), "runs": args.runs,
               "screenshots": sorted(p.name for p in args.shots.glob("*.png"))}
        print(json.dumps(row), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(row, indent=2) + "\n")
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
