"""Worker processes' metrics add up: snapshots merge into one exposition, shared through files."""

from __future__ import annotations

import json
from pathlib import Path

from api.http.metrics import Metrics
from api.http.metrics_share import MetricsShare, reset


def _line(text: str, prefix: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(prefix))


def _worker(requests: int, latency_s: float) -> Metrics:
    m = Metrics()
    for _ in range(requests):
        m.requests.inc("GET", "/healthz", "200")
        m.latency.observe(latency_s, "GET", "/healthz")
    m.tokens.inc(amount=requests)
    return m


def test_render_adds_the_peers_counts_and_histograms() -> None:
    own, peer = _worker(3, 0.002), _worker(4, 0.3)
    peer.requests.inc("POST", "/v1/collections/{c:str}/retrieve", "200")
    text = own.render(["extra_line 1"], [json.loads(json.dumps(peer.snapshot()))])
    assert _line(text, 'hopgraph_http_requests_total{method="GET",route="/healthz",status="200"}').endswith(" 7")
    assert _line(text, 'hopgraph_http_requests_total{method="POST"').endswith(" 1")
    assert _line(text, 'hopgraph_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.005"}'
                 ).endswith(" 3")
    assert _line(text, 'hopgraph_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"}'
                 ).endswith(" 7")
    assert _line(text, 'hopgraph_http_request_duration_seconds_count{method="GET",route="/healthz"}').endswith(" 7")
    assert _line(text, "hopgraph_generated_tokens_total").endswith(" 7")
    assert text.endswith("extra_line 1\n")


def test_malformed_peer_data_is_passed_over() -> None:
    own = _worker(2, 0.01)
    bad = {"hopgraph_http_requests_total": [["not a row"], [["GET", "/healthz", "200"], "x"]],
           "hopgraph_http_request_duration_seconds": [[["GET", "/healthz"], [1.0, 2.0]]],  # wrong width
           "hopgraph_generated_tokens_total": "nonsense"}
    text = own.render((), [bad])
    assert _line(text, 'hopgraph_http_requests_total{method="GET"').endswith(" 2")
    assert _line(text, 'hopgraph_http_request_duration_seconds_count{method="GET"').endswith(" 2")


def test_shares_publish_and_read_each_other(tmp_path: Path) -> None:
    first, second = _worker(5, 0.01), _worker(1, 0.01)
    a, b = MetricsShare(tmp_path, first, name="a"), MetricsShare(tmp_path, second, name="b")
    a.publish()
    b.publish()
    assert b.peers() == [first.snapshot()] and a.peers() == [second.snapshot()]
    before = (tmp_path / "a.json").stat().st_mtime_ns
    a.publish()  # unchanged: not written again
    assert (tmp_path / "a.json").stat().st_mtime_ns == before
    (tmp_path / "c.json").write_text("{truncated")
    assert b.peers() == [first.snapshot()]
    text = second.render((), b.peers())
    assert _line(text, 'hopgraph_http_requests_total{method="GET"').endswith(" 6")
    reset(tmp_path)
    assert list(tmp_path.iterdir()) == []
