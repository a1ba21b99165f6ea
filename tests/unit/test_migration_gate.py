"""The embedding migration's gate: recall@5 may drop by at most 1 point, p95 retrieval latency grow by at most 25%."""

from __future__ import annotations

from service.embedding_migration import judge


def test_the_gate_passes_what_holds_and_names_what_drops() -> None:
    current = {"recall@5": 0.80, "latency_ms_p95": 40.0}
    assert judge(current, {"recall@5": 0.791, "latency_ms_p95": 49.9}) == []
    assert judge(current, {"recall@5": 0.85, "latency_ms_p95": 20.0}) == []
    reasons = judge(current, {"recall@5": 0.78, "latency_ms_p95": 51.0})
    assert [r.split()[0] for r in reasons] == ["recall@5", "p95"]
    assert "0.8 to 0.78" in reasons[0] and "40.0 ms to 51.0 ms" in reasons[1]
    assert judge({"recall@5": None, "latency_ms_p95": None}, {"recall@5": 0.1, "latency_ms_p95": 99.0}) == []
