"""hopgraph capacity end to end: a calibration on a real store with the real models and reader, saved and reused;
clear errors for an empty store and for figures that are not."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SAMPLES, run_cli


def test_calibrate_then_estimate_from_the_saved_figures(tmp_path: Path, model_cache: Path) -> None:
    data = tmp_path / "data"
    env = {"HOPGRAPH_MODEL_CACHE_DIR": str(model_cache), "HOPGRAPH_LLM_MODEL": "fast", "HOPGRAPH_THREADS": "2"}
    empty = run_cli("capacity", "--documents", "10", "--qps", "1", data_dir=data, env=env)
    assert empty.returncode == 1 and "ingest some first" in empty.stderr and "Traceback" not in empty.stderr
    assert run_cli("ingest", "--no-progress", str(SAMPLES), data_dir=data, env=env).returncode == 0

    first = run_cli("capacity", "--calibrate", "--retrievals", "6", "--answers", "1", "--documents", "100000",
                    "--qps", "20", "--answer-share", "0.1", "--json", data_dir=data, env=env)
    assert first.returncode == 0, first.stderr
    assert "calibrating on 8 documents" in first.stderr and "figures saved" in first.stderr
    out = json.loads(first.stdout)
    figures, est = out["figures"], out["estimate"]
    assert figures["documents"] == 8 and figures["retrievals"] == 6 and figures["answers"] == 1
    assert 0 < figures["retrieve_cpu_s"] < 30 and figures["answer_cpu_s"] > figures["retrieve_cpu_s"]
    assert figures["reader_bytes"] > 0 and figures["store_bytes"] > 0 and figures["process_rss_bytes"] > 0
    expected_cpu = 20 * (0.9 * figures["retrieve_cpu_s"] + 0.1 * figures["answer_cpu_s"])
    assert abs(est["cpu_s_per_s"] - expected_cpu) < 0.01
    assert est["embedded"]["cores"] >= 1 and est["server"]["cores"] == est["embedded"]["cores"] + 2
    assert est["embedded"]["disk_gib"] > 0 and est["server"]["memory_gib"] > 0
    assert (data / "capacity.json").is_file()

    again = run_cli("capacity", "--documents", "1000", "--qps", "5", "--answer-share", "0", data_dir=data, env=env)
    assert again.returncode == 0, again.stderr
    assert "calibrating" not in again.stderr  # the saved figures
    assert "embedded profile:" in again.stdout and "server profile:" in again.stdout
    assert "assumptions:" in again.stdout and "8 documents" in again.stdout

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    refused = run_cli("capacity", "--documents", "1", "--qps", "1", "--figures", str(bad), data_dir=data, env=env)
    assert refused.returncode == 1 and "does not hold capacity figures" in refused.stderr
