"""Promoting a reader through the evaluation gate and rolling it back (real readers, real store, the CLI), and a
server process picking the change up without a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

from core.settings import load_settings
from service.audit import AuditLog
from service.evaluation import load_questions
from service.model_lifecycle import judge, promote, rollback
from service.model_registry import active_reader
from service.registry import READER_CHECK_S, SharedModels
from service.serverdb import ServerDB, server_db_path
from tests.conftest import MUSIQUE, run_cli

FAST = "smollm2-135m"


def _golden(tmp_path: Path, n: int = 2) -> Path:
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(json.loads((MUSIQUE / "questions.json").read_text())[:n]))
    return path


def test_the_gate_refuses_what_drops_and_passes_what_holds() -> None:
    current = {"recall@5": 0.80, "f1": 0.50, "answer_s_p95": 2.0}
    assert judge(current, {"recall@5": 0.795, "f1": 0.49, "answer_s_p95": 2.4}) == []
    reasons = judge(current, {"recall@5": 0.70, "f1": 0.40, "answer_s_p95": 3.0})
    assert [r.split()[0] for r in reasons] == ["recall@5", "f1", "p95"]


def test_promote_prints_the_table_and_rollback_restores_the_reader(tmp_path: Path, model_cache: Path) -> None:
    data = tmp_path / "data"
    env = {"HOPGRAPH_MODEL_CACHE_DIR": str(model_cache)}
    ingested = run_cli("ingest", "--no-progress", str(MUSIQUE / "corpus.json"), data_dir=data, env=env)
    assert ingested.returncode == 0, ingested.stderr
    golden = _golden(tmp_path)

    gated = run_cli("models", "promote", "reader", FAST, "--golden", str(golden), data_dir=data, env=env)
    assert "| f1 |" in gated.stdout and "| recall@5 |" in gated.stdout, gated.stderr
    refused = "gate:" in gated.stdout
    assert gated.returncode == (1 if refused else 0) and ("not promoted" in gated.stdout) == refused

    if refused:  # forced past the gate, audited as such
        forced = run_cli("models", "promote", "reader", FAST, "--golden", str(golden), "--force", data_dir=data,
                         env=env)
        assert forced.returncode == 0 and "promoted smollm2-135m (forced" in forced.stdout, forced.stderr
    twice = run_cli("models", "promote", "reader", FAST, "--golden", str(golden), data_dir=data, env=env)
    assert twice.returncode == 3 and "already in use" in twice.stderr
    db = ServerDB(server_db_path(data))
    try:
        assert active_reader(db) == FAST
        entries = [e for e in AuditLog(db).recent(None, 0, 20) if e.action == "model.promote"]
        assert entries and entries[0].target == f"reader:{FAST}" and entries[0].after["forced"] == refused
        back = run_cli("models", "rollback", "reader", data_dir=data, env=env)
        assert back.returncode == 0 and f"rolled back from {FAST}" in back.stdout, back.stderr
        assert active_reader(db) is None
        again = run_cli("models", "rollback", "reader", data_dir=data, env=env)
        assert again.returncode == 3 and "nothing to roll back" in again.stderr
    finally:
        db.close()


def test_a_server_process_switches_readers_within_seconds(tmp_path: Path, model_cache: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path / "data", model_cache_dir=model_cache, llm_model="default")
    models = SharedModels(settings)
    before = models.llm
    assert "qwen" in before.path.name.lower()
    db = ServerDB(server_db_path(settings.data_dir))
    try:
        ingested = run_cli("ingest", "--no-progress", str(MUSIQUE / "corpus.json"), data_dir=settings.data_dir,
                           env={"HOPGRAPH_MODEL_CACHE_DIR": str(model_cache)})
        assert ingested.returncode == 0, ingested.stderr
        result = promote(settings, db, AuditLog(db), "test", "reader", FAST, load_questions(_golden(tmp_path, 1)),
                         force=True)
        assert result.promoted
        time.sleep(READER_CHECK_S + 0.5)
        after = models.llm
        assert after is not before and "smollm" in after.path.name.lower()  # running answers kept `before`
        rollback(db, AuditLog(db), "test", "reader")
        time.sleep(READER_CHECK_S + 0.5)
        assert "qwen" in models.llm.path.name.lower()
    finally:
        db.close()

