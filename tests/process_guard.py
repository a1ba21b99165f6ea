"""No test leaves a process behind: every process started during the run carries a marker in its
environment, and at the end of the run any that is still alive fails the run (listed by pid and command).

A process reparented to init is still found (the marker is in its environment, not its parentage).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

MARKER = "HOPGRAPH_TEST_RUN"


def mark_run() -> None:
    """Put this run's marker into the environment every child process inherits."""
    os.environ.setdefault(MARKER, uuid.uuid4().hex)


def marked_processes() -> dict[int, str]:
    """Processes other than this one whose environment holds this run's marker: pid -> command line."""
    needle = f"{MARKER}={os.environ.get(MARKER, '')}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
                if "multiprocessing.resource_tracker" in command and _parent(entry) == os.getpid():
                    continue  # this process's own resource tracker: it ends with us
                found[int(entry.name)] = command
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def _parent(entry: Path) -> int:
    return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])


def leftovers(wait_s: float = 20.0) -> dict[int, str]:
    """The marked processes still alive after up to ``wait_s`` seconds (children shutting down get that long)."""
    if not Path("/proc").is_dir() or MARKER not in os.environ:
        return {}
    deadline = time.monotonic() + wait_s
    while (found := {pid: cmd for pid, cmd in marked_processes().items() if running(pid)}) and \
            time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def running(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (exited, waiting for its parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
