"""Keep the server's long-lived objects out of the cycle collector's full passes.

A server process holds a few hundred thousand long-lived Python objects (models, the
ontology, each collection's graph index). CPython's full (generation 2) collection walks
all of them, holding the GIL for tens to hundreds of milliseconds, and every request of the
process waits meanwhile: in one ``bench/api_load.py`` run each worker made 9-11 full
collections, 1.2 s in all, the longest 222 ms (after settling: the same run's p99 fell from
about 200 to 150 ms). ``gc.freeze()`` moves the objects alive now to a permanent generation
that collections skip; they are still freed by reference counting when dropped (only
reference cycles among them would outlive their use).
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("hopgraph.api")


def settle() -> None:
    """Collect garbage once, then freeze what is alive (blocking: call it from a worker thread, once
    the models are loaded or a collection's first graph index is built)."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.debug("heap settled in %.1f ms: %d objects frozen", (time.perf_counter() - started) * 1000,
              gc.get_freeze_count())


def release() -> None:
    """Give the frozen objects back to the collector (at shutdown, so that teardown frees them as usual)."""
    gc.unfreeze()
