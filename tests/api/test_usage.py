"""What requests cost: the query response's usage object, the per-collection usage endpoint, the per-key
counters and the SLO burn rates in /metrics, on the shared app (real models, real reader)."""

from __future__ import annotations

import re
import time

from service.keys import KeyStore
from service.serverdb import ServerDB, server_db_path
from tests.api.conftest import Harness
from tests.api.test_questions import _sse


def _key_id(harness: Harness, name: str) -> str:
    db = ServerDB(server_db_path(harness.settings.data_dir))
    try:
        store = KeyStore(db)
        store.refresh()
        found = store.check(harness.keys[name])
        assert found is not None
        return found.id
    finally:
        db.close()


def _value(text: str, prefix: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


def test_answers_carry_their_cost_and_the_collection_sums_it(harness: Harness) -> None:
    since = time.time() - 1
    headers = harness.h("reader_beta")
    q = {"question": "Who founded Orvane Mining?", "k": 2}
    plain = harness.client.post("/v1/collections/beta/query", json=q, headers=headers)
    assert plain.status_code == 200, plain.text
    usage = plain.json()["usage"]
    assert usage["cpu_s"] > 0 and usage["retrieval_s"] > 0 and usage["generation_s"] > 0
    assert usage["prompt_tokens"] > 50 and 0 < usage["completion_tokens"] <= 24 * 2  # two hops at most
    assert usage["cpu_s"] < 600
    with harness.client.stream("POST", "/v1/collections/beta/query", json={**q, "stream": True},
                               headers=headers) as res:
        streamed = _sse(res.read().decode())[-1][1]["usage"]
    assert streamed["cpu_s"] > 0 and streamed["completion_tokens"] > 0
    extractive = harness.client.post("/v1/collections/beta/query", json={**q, "extractive": True},
                                     headers=headers).json()["usage"]
    assert extractive["completion_tokens"] == 0 and extractive["generation_s"] == 0 and extractive["cpu_s"] > 0
    assert harness.client.post("/v1/collections/beta/retrieve", json=q, headers=headers).status_code == 200

    res = harness.client.get("/v1/collections/beta/usage", params={"since": str(since)}, headers=harness.h("admin"))
    assert res.status_code == 200, res.text
    report = res.json()
    mine = report["by_key"][_key_id(harness, "reader_beta")]
    assert report["collection"] == "beta" and report["requests_by_endpoint"]["query"] >= 3
    assert report["requests_by_endpoint"]["retrieve"] >= 1 and report["errors"] == 0
    assert mine["completion_tokens"] >= usage["completion_tokens"] + streamed["completion_tokens"]
    assert mine["prompt_tokens"] >= usage["prompt_tokens"] + streamed["prompt_tokens"]
    assert mine["cpu_s"] >= usage["cpu_s"] + streamed["cpu_s"] + extractive["cpu_s"] - 1e-6
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3600))
    future = harness.client.get("/v1/collections/beta/usage", params={"since": iso}, headers=harness.h("admin"))
    assert future.status_code == 200 and future.json()["requests"] == 0

    text = harness.client.get("/metrics").text
    key = _key_id(harness, "reader_beta")
    assert _value(text, f'hopgraph_usage_cpu_seconds_total{{collection="beta",key="{key}"}}') >= mine["cpu_s"] - 1e-6
    assert _value(text, f'hopgraph_usage_tokens_total{{collection="beta",key="{key}",kind="completion"}}') >= \
        mine["completion_tokens"]
    assert _value(text, f'hopgraph_usage_requests_total{{collection="beta",key="{key}",endpoint="query"}}') >= 3
    rates = dict(re.findall(r'^hopgraph_slo_burn_rate\{(slo="\w+",window="\w+")\} (\S+)$', text, re.MULTILINE))
    assert set(rates) == {f'slo="{s}",window="{w}"' for s in ("retrieve_latency", "availability")
                          for w in ("5m", "1h")}
    assert all(float(v) >= 0 for v in rates.values())
    assert 'hopgraph_slo_objective{slo="retrieve_latency"} 0.99' in text


def test_usage_is_for_admins_and_since_is_checked(harness: Harness) -> None:
    assert harness.client.get("/v1/collections/beta/usage", headers=harness.h("reader_beta")).status_code == 403
    bad = harness.client.get("/v1/collections/beta/usage", params={"since": "yesterday"}, headers=harness.h("admin"))
    assert bad.status_code == 400 and "since" in bad.json()["detail"]
    assert harness.client.get("/v1/collections/nope/usage", headers=harness.h("admin")).status_code == 404
    for made_up in ("made-up-1", "made-up-2"):  # unknown or unauthorised names make no series
        harness.client.post(f"/v1/collections/{made_up}/retrieve", json={"question": "x"})
        harness.client.post(f"/v1/collections/{made_up}/retrieve", json={"question": "x"}, headers=harness.h("admin"))
    assert 'collection="made-up' not in harness.client.get("/metrics").text
