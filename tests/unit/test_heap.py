"""Settling the heap: live objects leave the cycle collector's passes, and are still freed when dropped."""

from __future__ import annotations

import gc
import weakref

from service import heap


class _Node:
    pass


def test_settle_freezes_live_objects_which_refcounting_still_frees() -> None:
    try:
        kept = _Node()
        ref = weakref.ref(kept)
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert not any(obj is kept for obj in gc.get_objects())  # out of every generation the collector scans
        del kept
        assert ref() is None  # no cycle: freed at once, frozen or not
    finally:
        gc.unfreeze()
