"""Request cost accounting: the CPU meter shares the process's CPU among the units running, the usage log sums
per-second buckets in the server database, and the SLO burn rates follow from its windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import StoreError
from core.settings import Settings
from service.serverdb import ServerDB
from service.slo import burn_rates, burn_rates_of
from service.usage import CpuMeter, Outcome, Usage, UsageLog, WindowCounts


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_one_unit_alone_gets_exactly_the_cpu_spent_while_it_ran() -> None:
    clock = Clock(10.0)
    meter, usage = CpuMeter(clock), Usage()
    clock.now = 11.0  # spent before the unit: charged to nobody
    with meter.unit(usage):
        clock.now = 13.5
    clock.now = 20.0  # after it: nobody
    assert usage.cpu_s == pytest.approx(2.5)


def test_overlapping_units_share_the_cpu_and_the_total_is_kept() -> None:
    clock = Clock()
    meter, a, b = CpuMeter(clock), Usage(), Usage()
    first = meter.unit(a)
    first.__enter__()
    clock.now = 1.0  # a alone: 1.0
    second = meter.unit(b)
    second.__enter__()
    clock.now = 3.0  # both: 1.0 each
    first.__exit__(None, None, None)
    clock.now = 3.5  # b alone: 0.5
    second.__exit__(None, None, None)
    assert (a.cpu_s, b.cpu_s) == (pytest.approx(2.0), pytest.approx(1.5))
    assert a.cpu_s + b.cpu_s == pytest.approx(3.5)


def test_metered_charges_even_when_the_work_fails() -> None:
    clock = Clock()
    meter, usage = CpuMeter(clock), Usage()

    def work() -> None:
        clock.now = 0.75
        raise ValueError("boom")

    with pytest.raises(ValueError):
        meter.metered(usage, work)()
    assert usage.cpu_s == pytest.approx(0.75)


def _outcome(collection: str = "c", key: str = "k1", endpoint: str = "retrieve", *, error: bool = False,
             slow: bool = False, cpu: float = 0.1, prompt: int = 0, completion: int = 0) -> Outcome:
    return Outcome(collection, key, endpoint, error, slow,
                   Usage(cpu_s=cpu, prompt_tokens=prompt, completion_tokens=completion, retrieval_s=0.05,
                         generation_s=1.0 if completion else 0.0))


def test_usage_log_sums_per_collection_key_and_endpoint(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    db = ServerDB(tmp_path / "server.db")
    log = UsageLog(db, clock)
    log.add(_outcome())
    log.add(_outcome(key="k2", endpoint="query", cpu=2.0, prompt=300, completion=12))
    clock.now = 1000.4  # same second: one bucket
    log.add(_outcome())
    log.add(_outcome(collection="other", cpu=5.0))
    assert log.summary("c", 0).requests == 0  # nothing written before a flush
    assert log.flush() == 3
    clock.now = 1001.2
    log.add(_outcome(key="k2", endpoint="query", cpu=1.0, prompt=100, completion=3, error=True))
    log.flush()

    total = log.summary("c", 0)
    assert (total.requests, total.errors) == (4, 1)
    assert total.usage.cpu_s == pytest.approx(3.2)
    assert (total.usage.prompt_tokens, total.usage.completion_tokens) == (400, 15)
    assert total.usage.retrieval_s == pytest.approx(0.2) and total.usage.generation_s == pytest.approx(2.0)
    assert total.by_key["k1"].cpu_s == pytest.approx(0.2) and total.by_key["k2"].completion_tokens == 15
    assert total.by_endpoint == {"retrieve": 2, "query": 2}
    later = log.summary("c", 1001)
    assert later.requests == 1 and later.by_key["k2"].cpu_s == pytest.approx(1.0)
    assert log.summary("other", 0).usage.cpu_s == pytest.approx(5.0)
    db.close()

    reopened = UsageLog(ServerDB(tmp_path / "server.db"), clock)  # durable: another process reads the same sums
    assert reopened.summary("c", 0).requests == 4


def test_a_failed_flush_keeps_the_buckets(tmp_path: Path) -> None:
    clock = Clock(50.0)
    db = ServerDB(tmp_path / "server.db")
    log = UsageLog(db, clock)
    log.add(_outcome())
    db.close()
    with pytest.raises(StoreError):
        log.flush()
    log._db = ServerDB(tmp_path / "server.db")  # the database is back
    assert log.flush() == 1 and log.summary("c", 0).requests == 1


def test_windows_and_burn_rates(tmp_path: Path) -> None:
    clock = Clock(10_000.0)
    log = UsageLog(ServerDB(tmp_path / "server.db"), clock)
    for i in range(100):  # an hour ago and more: outside both windows
        clock.now = 10_000.0 - 4000 + i
        log.add(_outcome(slow=True, error=True))
    clock.now = 10_000.0 - 1800  # in the hour, not in the 5 minutes
    for _ in range(50):
        log.add(_outcome(slow=True))
    clock.now = 10_000.0 - 10
    for i in range(50):
        log.add(_outcome(endpoint="query" if i % 2 else "retrieve", error=i == 0))
    log.flush()
    clock.now = 10_000.0
    recent, hour = log.window(300), log.window(3600)
    assert (recent.requests, recent.errors, recent.retrieves, recent.slow) == (50, 1, 25, 0)
    assert (hour.requests, hour.errors, hour.retrieves, hour.slow) == (100, 1, 75, 50)

    settings = Settings(slo_retrieve_objective=0.99, slo_availability_objective=0.999)
    rates = {(r.slo, r.window): r.rate for r in burn_rates(settings, log)}
    assert rates[("retrieve_latency", "5m")] == 0.0
    assert rates[("retrieve_latency", "1h")] == pytest.approx((50 / 75) / 0.01)
    assert rates[("availability", "5m")] == pytest.approx((1 / 50) / 0.001)
    assert rates[("availability", "1h")] == pytest.approx((1 / 100) / 0.001)
    idle = burn_rates_of(settings, "5m", WindowCounts(300, 0, 0, 0, 0))
    assert [r.rate for r in idle] == [0.0, 0.0]
