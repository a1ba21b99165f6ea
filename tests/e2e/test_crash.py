"""SIGKILL a real ingest mid-way: committed work stays, nothing is half-visible, a rerun completes it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import MUSIQUE, ROOT, run_cli
from tests.e2e.snapshot import check_consistency, snapshot

PASSAGES = 240


def _documents(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def _kill_when(db: Path, data: Path, corpus: Path, env: dict[str, str], at_least: int) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--data-dir", str(data), "ingest", "--no-progress", str(corpus)],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        while _documents(db) < at_least:
            assert proc.poll() is None, "ingest finished before it could be killed"
            assert time.monotonic() < deadline, "ingest made no progress"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its NLP worker, without warning
        proc.wait()
    return _documents(db)


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    records = json.loads((MUSIQUE / "corpus.json").read_text())[:PASSAGES]
    assert len(records) == PASSAGES
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(records))
    data = tmp_path / "data"
    db = data / "hopgraph.db"
    env = {"HOPGRAPH_WRITE_BATCH_DOCUMENTS": "8"}

    first = _kill_when(db, data, corpus, env, at_least=8)
    counts = check_consistency(db)
    assert 8 <= counts["documents"] < PASSAGES and counts["documents"] == first

    second = _kill_when(db, data, corpus, env, at_least=first + 8)
    assert second > first
    check_consistency(db)

    res = run_cli("ingest", "--no-progress", str(corpus), data_dir=data, env=env)
    assert res.returncode == 0, res.stderr
    assert f"unchanged {second}" in res.stdout
    assert check_consistency(db)["documents"] == PASSAGES

    clean = tmp_path / "clean"
    assert run_cli("ingest", "--no-progress", str(corpus), data_dir=clean, env=env).returncode == 0
    assert snapshot(db) == snapshot(clean / "hopgraph.db")
