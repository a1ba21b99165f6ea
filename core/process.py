"""Child processes that end with their parent, and pid files that tell whether a writer still runs.

A worker process (the spaCy stage's pool) would otherwise live on when its parent is killed
without the chance to shut the pool down (SIGKILL, or SIGTERM to a process that does not
handle it), holding memory and a CPU core. On Linux the kernel can deliver a signal to a
child when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from pathlib import Path
from typing import IO

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


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal counts as running; ids ≤ 0 never do)."""
    if pid <= 0:  # 0 and negatives name process groups: never a writer
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_pid_file(path: Path) -> None:
    """Write this process's id to ``path`` atomically: a reader sees the whole id or no file, never an empty one
    (a process killed between creating and writing the file would otherwise leave one that reads as no pid)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, path)


def pid_file_alive(path: Path) -> bool:
    """Whether the process named in pid file ``path`` runs; a missing, empty or garbled file names none."""
    try:
        return process_alive(int(path.read_text().strip()))
    except (OSError, ValueError):
        return False


class FileLock:
    """An exclusive, non-blocking ``flock`` on a file, released when the holder exits or dies."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("a+b")

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
