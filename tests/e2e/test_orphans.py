"""No orphans: when a hopgraph process is killed without warning (SIGKILL), every process it started
(the spaCy worker of an ingest; a server's uvicorn workers and their ingest workers) exits too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.api.test_server_e2e import _env, _serve
from tests.conftest import ROOT, SAMPLES
from tests.process_guard import running


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo += sorted(children - found)
            found |= children
    return found


def _all_exit(pids: set[int], within_s: float = 60.0) -> set[int]:
    deadline = time.monotonic() + within_s
    while (left := {pid for pid in pids if running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_sigkilled_ingest_takes_its_nlp_worker_along(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--data-dir", str(tmp_path / "data"), "--threads", "2", "ingest",
         "--no-progress", str(SAMPLES)],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (workers := _descendants(proc.pid)):  # the spaCy worker starts with the pipeline
            assert proc.poll() is None, "ingest finished before its worker was seen"
            assert time.monotonic() < deadline, "no worker process started"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)  # the CLI only, without warning: not its process group
        proc.wait()
    assert workers and _all_exit(workers) == set()


def test_sigkilled_server_takes_its_workers_along(tmp_path: Path, model_cache: Path) -> None:
    with _serve(tmp_path / "data", _env(model_cache), "--workers", "2") as srv:
        deadline = time.monotonic() + 60
        while len(children := _descendants(srv.process.pid)) < 4:  # 2 uvicorn workers, each an ingest worker
            assert time.monotonic() < deadline, f"expected 4 worker processes, saw {sorted(children)}"
            time.sleep(0.2)
        srv.process.send_signal(signal.SIGKILL)
        srv.process.wait()
    assert _all_exit(children) == set()
