"""The ingest CLI end to end: real files, real models, real store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from tests.conftest import SAMPLES, run_cli
from tests.e2e.snapshot import check_consistency, snapshot


def test_sample_corpus_ingests_and_can_be_explored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    res = run_cli("ingest", "--no-progress", str(SAMPLES), data_dir=data)
    assert res.returncode == 0, res.stderr
    assert "documents ingested 8" in res.stdout and "failed files 0" in res.stdout
    counts = check_consistency(data / "hopgraph.db")
    assert counts["documents"] == 8 and counts["entities"] > 20 and counts["relations"] > 20

    stats = run_cli("stats", data_dir=data)
    assert stats.returncode == 0 and "documents  8" in stats.stdout

    found = run_cli("entities", "search", "Northwind Holdings", data_dir=data)
    assert found.returncode == 0
    line = next(x for x in found.stdout.splitlines() if "Northwind Holdings" in x)
    entity_id = line.split()[0]
    shown = run_cli("entity", "show", entity_id, data_dir=data)
    assert shown.returncode == 0, shown.stderr
    assert "[Organization]" in shown.stdout
    assert "-[ACQUIRED]-> Corvel Robotics" in shown.stdout
    assert "evidence" in shown.stdout and "acquired Corvel Robotics" in shown.stdout

    again = run_cli("ingest", "--no-progress", str(SAMPLES), data_dir=data)
    assert again.returncode == 0 and "documents ingested 0, unchanged 8" in again.stdout

    redone = run_cli("reextract", "--no-progress", data_dir=data)  # e.g. after a spaCy pipeline change
    assert redone.returncode == 0 and "documents extracted again 8" in redone.stdout, redone.stderr
    assert check_consistency(data / "hopgraph.db") == counts  # the same pipeline rebuilds the same graph
    refused = run_cli("--principals", "group:hr", "reextract", data_dir=data)
    assert refused.returncode == 3 and "every document in view" in refused.stderr

    missing = run_cli("entity", "show", "nope", data_dir=data)
    assert missing.returncode == 1 and "no entity" in missing.stderr and "Traceback" not in missing.stderr


def test_bad_files_are_reported_and_the_rest_is_ingested(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Good\n\nToomas Kask founded Baltia Lines in Tallinn.")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (docs / "empty.txt").write_text("")
    (docs / "broken.json").write_text('[{"text": "ok"}, {"text": ')
    (docs / "huge.txt").write_text("word " * 5000)
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ngarbage")
    data = tmp_path / "data"
    res = run_cli("ingest", "--no-progress", str(docs), data_dir=data, env={"HOPGRAPH_MAX_FILE_BYTES": "10000"})
    assert res.returncode == 1
    for name, reason in [("binary.txt", "binary"), ("empty.txt", "empty"), ("broken.json", "invalid JSON"),
                         ("huge.txt", "exceeds the limit"), ("bad.pdf", "not a readable PDF file")]:
        lines = [line for line in res.stderr.splitlines() if name in line]
        assert any(reason in line for line in lines), (name, res.stderr)
        assert all(line.count(name) == 1 for line in lines), lines  # the path once, not twice
    assert "documents ingested 1" in res.stdout and "failed files 5" in res.stdout
    # the parser's internals and its own log lines stay out of what the person reads
    assert "Traceback" not in res.stderr and "RetryError" not in res.stderr and "pypdf" not in res.stderr
    snap = snapshot(data / "hopgraph.db")
    assert len(snap["documents"]) == 1  # nothing partial from the failed files
    check_consistency(data / "hopgraph.db")


def test_a_large_file_goes_in_slices_and_is_written_whole(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    # 3,000 words with no sentence end: 18 chunks, over 5 slices of at most 4 chunks
    (docs / "long.txt").write_text(" ".join(f"Kallax Shipping moved cargo{i} to Tallinn" for i in range(500)))
    (docs / "short.md").write_text("# Kallax Shipping\n\nMirja Oks founded Kallax Shipping in Tallinn.")
    data = tmp_path / "data"
    res = run_cli("ingest", str(docs), data_dir=data, env={"HOPGRAPH_INGEST_BATCH_CHUNKS": "4"})
    assert res.returncode == 0, res.stderr
    assert "documents ingested 2" in res.stdout
    conn = sqlite3.connect(data / "hopgraph.db")
    try:
        titles = sorted(str(r[0]) for r in conn.execute("SELECT title FROM documents"))
        spans = conn.execute("SELECT c.start, c.\"end\" FROM chunks c JOIN documents d ON d.id = c.doc_id"
                             " WHERE d.source LIKE '%long.txt' ORDER BY c.start").fetchall()
    finally:
        conn.close()
    assert titles == ["", "Kallax Shipping"]  # a plain-text file has no title
    assert len(spans) >= 15 and all(a < b for a, b in spans) and spans[0][0] == 0
    assert all(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))  # overlapping, no gap
    check_consistency(data / "hopgraph.db")


def test_update_replaces_exactly_the_old_contribution(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLES, corpus)
    data = tmp_path / "data"
    assert run_cli("ingest", "--no-progress", str(corpus), data_dir=data).returncode == 0

    # change one file and one record of a JSONL file, drop another record
    (corpus / "northwind_holdings.md").write_text(
        "# Northwind Holdings\n\nNorthwind Holdings is an investment group based in Antwerp, Belgium. "
        "In 2020 Northwind Holdings acquired Kaleva Foods."
    )
    lines = (corpus / "people.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    rec["text"] = "Aino Lehtola is a Finnish roboticist who lives in Turku."
    (corpus / "people.jsonl").write_text("\n".join([json.dumps(rec), lines[1]]) + "\n")
    res = run_cli("ingest", "--no-progress", str(corpus), data_dir=data)
    assert res.returncode == 0, res.stderr
    assert "documents ingested 2, unchanged 5, removed 1" in res.stdout

    fresh = tmp_path / "fresh"
    assert run_cli("ingest", "--no-progress", str(corpus), data_dir=fresh).returncode == 0
    assert snapshot(data / "hopgraph.db") == snapshot(fresh / "hopgraph.db")


def test_delete_removes_exactly_what_only_it_supported(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLES, corpus)
    data = tmp_path / "data"
    assert run_cli("ingest", "--no-progress", str(corpus), data_dir=data).returncode == 0
    res = run_cli("delete", str(corpus / "northwind_holdings.md"), data_dir=data)
    assert res.returncode == 0 and "deleted" in res.stdout, res.stderr
    entries = [json.loads(line) for line in run_cli("audit", data_dir=data).stdout.splitlines()]
    assert [e["action"] for e in entries] == ["document.delete"]  # audited, as made by the CLI's user
    assert entries[0]["by"].startswith("cli") and entries[0]["before"]["sha256"]

    (corpus / "northwind_holdings.md").unlink()
    fresh = tmp_path / "fresh"
    assert run_cli("ingest", "--no-progress", str(corpus), data_dir=fresh).returncode == 0
    after, expected = snapshot(data / "hopgraph.db"), snapshot(fresh / "hopgraph.db")
    assert after == expected
    # shared entities survive with their remaining support, e.g. Northwind Holdings (named in 4 other documents)
    assert any(a[1] == "Northwind Holdings" for a in after["aliases"])

    unknown = run_cli("delete", "no-such-doc", data_dir=data)
    assert unknown.returncode == 1 and "no document" in unknown.stderr


def test_entities_are_curated_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("ingest", "--no-progress", str(SAMPLES), data_dir=data).returncode == 0
    found = run_cli("entities", "search", "Northwind Holdings", data_dir=data)
    entity_id = next(x for x in found.stdout.splitlines() if "Northwind Holdings" in x).split()[0]
    edited = run_cli("entity", "edit", entity_id, "--name", "Northwind Holdings Oyj", "--add-alias", "NWH",
                     data_dir=data)
    assert edited.returncode == 0, edited.stderr
    out = json.loads(edited.stdout)
    assert out["after"]["name"] == "Northwind Holdings Oyj" and out["documents_reprocessed"] >= 2
    shown = run_cli("entity", "show", entity_id, data_dir=data)
    assert "Northwind Holdings Oyj" in shown.stdout and "NWH" in shown.stdout
    bad = run_cli("entity", "edit", entity_id, "--type", "Spaceship", data_dir=data)
    assert bad.returncode == 1 and "not an entity type" in bad.stderr and "Traceback" not in bad.stderr
    self_merge = run_cli("entity", "merge", entity_id, "--into", entity_id, data_dir=data)
    assert self_merge.returncode == 3 and "itself" in self_merge.stderr
    # the edit (and nothing that failed) is in the audit log, with the OS user and the state before and after
    audit = [json.loads(line) for line in run_cli("audit", data_dir=data).stdout.splitlines()]
    assert [(a["action"], a["target"]) for a in audit] == [("entity.edit", entity_id)]
    assert audit[0]["by"].startswith("cli") and audit[0]["after"]["name"] == "Northwind Holdings Oyj"
    assert audit[0]["before"]["name"] == "Northwind Holdings"
    check_consistency(data / "hopgraph.db")
