"""Child processes that end with their parent.

A worker process (the spaCy stage's pool) would otherwise live on when its parent is killed
without the chance to shut the pool down (SIGKILL, or SIGTERM to a process that does not
handle it), holding memory and a CPU core. On Linux the kernel can deliver a signal to a
child when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def exit_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when its parent exits (Linux; no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # no C library to ask: the worker simply is not tied to its parent
        return
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)
