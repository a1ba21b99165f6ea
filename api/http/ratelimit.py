"""Per-key token-bucket rate limiting, shared by every server process of one data directory.

``hopgraph serve --workers N`` runs N processes; a limit kept in each process's memory would
let a key make N times its configured rate (and a single keep-alive connection only 1/N of
it if the limit were split). So the buckets live in a small memory-mapped table,
``DATA_DIR/ratelimit.bin``: a fixed number of slots of (key hash, tokens, last refill),
probed linearly from the key's hash, updated under an exclusive ``flock`` (between
processes) and a thread lock (between the threads of one process). A take is a few
microseconds. When every slot of a key's probe window is taken, the least recently used is
reused (that key starts with a full bucket again), so the table never grows. Times are
wall-clock seconds (``time.time``), so the table keeps its meaning across restarts; a clock
that steps back counts as no time passed.

Without a path (tests, a single in-process app) the same table lives in anonymous memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from pathlib import Path
from typing import Protocol

_MAGIC = b"hopgraph-rl-v1\0\0"
_SLOT = struct.Struct("<Qdd")  # key hash (0: empty), tokens, last refill (unix seconds)
_PROBE = 32


class Buckets(Protocol):
    """Per-key token buckets: this module's (one host) or :mod:`api.http.ratelimit_shared`'s (every replica)."""

    @property
    def enabled(self) -> bool: ...

    def take(self, key: str) -> float: ...

    def retry_after(self, wait_s: float) -> str: ...

    def close(self) -> None: ...


def _key_hash(key: str) -> int:
    """A non-zero 64-bit hash of ``key`` (0 marks an empty slot)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


class TokenBuckets:
    """One bucket of ``burst`` tokens per key, refilled at ``rate`` tokens per second.

    Args:
        rate: tokens per second; 0 turns limiting off.
        burst: bucket size (requests a key may make at once).
        path: the shared table's file (created if missing); None keeps it in this process.
        slots: table size (keys tracked at once).

    Raises:
        OSError: the table's file cannot be created, sized or mapped.
    """

    def __init__(self, rate: float, burst: int, path: Path | None = None, slots: int = 8192) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._slots = slots
        self._lock = threading.Lock()
        size = len(_MAGIC) + slots * _SLOT.size
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, size)
            self._map[: len(_MAGIC)] = _MAGIC
            return
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                # Never shrink the file: another process may have it mapped (a mapping past the end
                # of its file faults). A new file, or another format, starts as an empty table.
                if os.fstat(self._fd).st_size < size:
                    os.ftruncate(self._fd, size)
                if os.pread(self._fd, len(_MAGIC), 0) != _MAGIC:
                    os.pwrite(self._fd, bytes(size), 0)
                    os.pwrite(self._fd, _MAGIC, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(self._fd, size)
        except OSError:
            os.close(self._fd)
            raise

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
        h = _key_hash(key)
        with self._lock:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = time.time()
                offset = self._find(h)
                stored, tokens, last = _SLOT.unpack_from(self._map, offset)
                if stored != h:
                    tokens, last = self._burst, now
                tokens = min(self._burst, tokens + max(0.0, now - last) * self._rate)
                wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate
                _SLOT.pack_into(self._map, offset, h, tokens - 1.0 if wait == 0.0 else tokens, now)
                return wait
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _find(self, h: int) -> int:
        """The byte offset of ``h``'s slot: its own, else the first empty one, else the least
        recently used of its probe window."""
        oldest, oldest_at = -1, math.inf
        for i in range(_PROBE):
            offset = len(_MAGIC) + ((h + i) % self._slots) * _SLOT.size
            stored, _tokens, last = _SLOT.unpack_from(self._map, offset)
            if stored == h or stored == 0:
                return offset
            if last < oldest_at:
                oldest, oldest_at = offset, last
        return oldest

    def close(self) -> None:
        """Unmap the table (and close its file)."""
        with self._lock:
            self._map.close()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """The ``Retry-After`` value (whole seconds, at least 1) for a wait."""
        return str(max(1, math.ceil(wait_s)))
