"""Metrics of every worker process of one ``hopgraph serve``, for a scrape answered by any of them.

Each process writes its :meth:`Metrics.snapshot` to ``<dir>/<pid>.json`` (atomically, at most
once a second and only when it changed, plus once at shutdown); ``/metrics`` adds the files of
the other processes to its own live counts. ``hopgraph serve`` empties the directory
(``DATA_DIR/metrics``) when it starts, so counts begin at zero with each server run and those of
a worker that exited (and was replaced) still count until the next one, as Prometheus counters
should.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from api.http.metrics import Metrics

PUBLISH_EVERY_S = 1.0


class MetricsShare:
    """Publishes this process's metrics and reads the other processes'.

    Args:
        directory: shared by the server's processes (created if missing).
        metrics: this process's metrics.
        name: this process's file name (default: its pid).

    Raises:
        OSError: the directory cannot be created.
    """

    def __init__(self, directory: Path, metrics: Metrics, name: str | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        self._metrics = metrics
        self._own = directory / f"{name or os.getpid()}.json"
        self._last = ""

    def publish(self) -> None:
        """Write this process's snapshot if it changed since the last write.

        Raises:
            OSError: the file cannot be written.
        """
        text = json.dumps(self._metrics.snapshot(), separators=(",", ":"))
        if text == self._last:
            return
        tmp = self._own.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self._own)
        self._last = text

    def peers(self) -> list[dict[str, Any]]:
        """The other processes' latest snapshots (a file that vanishes or does not parse is passed over:
        its process is being replaced or wrote another version's format)."""
        out: list[dict[str, Any]] = []
        for path in sorted(self._dir.glob("*.json")):
            if path == self._own:
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                out.append(data)
        return out


def reset(directory: Path) -> None:
    """Remove the snapshots of an earlier server run (before any worker starts).

    Raises:
        OSError: a file cannot be removed.
    """
    if directory.is_dir():
        for path in directory.iterdir():
            if path.suffix in (".json", ".tmp"):
                path.unlink(missing_ok=True)
