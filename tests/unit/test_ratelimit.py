"""The shared token-bucket table: refill, Retry-After, keys apart, one budget across processes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from api.http.ratelimit import TokenBuckets


def test_a_key_gets_its_burst_then_waits_for_refill() -> None:
    buckets = TokenBuckets(rate=20.0, burst=2)
    assert [buckets.take("k"), buckets.take("k")] == [0.0, 0.0]
    wait = buckets.take("k")
    assert 0.0 < wait <= 0.05 + 1e-6
    assert buckets.retry_after(wait) == "1"
    time.sleep(wait + 0.02)
    assert buckets.take("k") == 0.0
    buckets.close()


def test_keys_have_separate_buckets_and_rate_zero_is_off() -> None:
    buckets = TokenBuckets(rate=0.001, burst=1)
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    assert buckets.take("b") == 0.0
    off = TokenBuckets(rate=0.0, burst=1)
    assert not off.enabled and all(off.take("a") == 0.0 for _ in range(100))


def test_a_full_table_reuses_the_least_recently_used_slot() -> None:
    buckets = TokenBuckets(rate=0.001, burst=1, slots=8)
    assert all(buckets.take(f"key-{i}") == 0.0 for i in range(100))  # never raises, every new key starts full
    assert buckets.take("key-99") > 0  # the newest key kept its (empty) bucket


def test_two_tables_on_one_file_share_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.bin"
    first, second = TokenBuckets(0.001, 3, path), TokenBuckets(0.001, 3, path)
    allowed = [b.take("k") == 0.0 for b in (first, second, first, second, first, second)]
    assert allowed == [True, True, True, False, False, False]
    first.close()
    second.close()
    again = TokenBuckets(0.001, 3, path)  # a restart keeps the state
    assert again.take("k") > 0
    again.close()


def test_a_table_of_another_layout_is_started_again(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.bin"
    path.write_bytes(b"not a table" * 10)
    buckets = TokenBuckets(0.001, 1, path, slots=16)
    assert buckets.take("k") == 0.0 and buckets.take("k") > 0
    buckets.close()
    assert path.stat().st_size == 16 + 16 * 24
    larger = TokenBuckets(0.001, 1, path, slots=8)  # a file larger than needed is used, never shrunk
    assert larger.take("other") == 0.0
    larger.close()
    assert path.stat().st_size == 16 + 16 * 24


def _takes(path: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    buckets = TokenBuckets(0.001, 50, Path(path))
    out.put(sum(buckets.take("shared") == 0.0 for _ in range(n)))
    buckets.close()


def test_processes_taking_at_once_never_exceed_the_burst(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.bin"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_takes, args=(str(path), 40, out)) for _ in range(3)]
    for p in procs:
        p.start()
    counts = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert sum(counts) == 50, counts  # 120 takes, one bucket of 50, refilling ~0 in the meantime
