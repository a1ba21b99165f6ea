"""Per-key token-bucket rate limiting (per server process)."""

from __future__ import annotations

import math
import threading
import time


class TokenBuckets:
    """One bucket of ``burst`` tokens per key, refilled at ``rate`` tokens per second."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    @property
    def enabled(self) -> bool:
        """False when the rate is 0 (no limit)."""
        return self._rate > 0

    def take(self, key: str) -> float:
        """Take one token for ``key``.

        Returns:
            0 when allowed, else the seconds until a token is available (for ``Retry-After``).
        """
        if not self.enabled:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """The ``Retry-After`` value (whole seconds, at least 1) for a wait."""
        return str(max(1, math.ceil(wait_s)))
