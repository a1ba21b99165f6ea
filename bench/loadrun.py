"""Shared pieces of the scale-out benchmarks: percentiles, and running load threads for a time with an
optional kill a third of the way in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


def pct(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted ``values``, rounded to 0.1 (None when there are none)."""
    return round(values[min(len(values) - 1, int(len(values) * q))], 1) if values else None


def run_for(threads: Sequence[threading.Thread], stop: threading.Event, seconds: float,
            kill: Callable[[], None] | None = None) -> tuple[float, float | None]:
    """Start ``threads``, let them run ``seconds`` (calling ``kill`` after a third of them), then set ``stop``
    and join them. Returns the wall time and when the kill happened (``perf_counter``; None without one)."""
    started = time.perf_counter()
    for th in threads:
        th.start()
    killed_at = None
    if kill is not None:
        time.sleep(seconds / 3)
        kill()
        killed_at = time.perf_counter()
        time.sleep(seconds * 2 / 3)
    else:
        time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join()
    return time.perf_counter() - started, killed_at
