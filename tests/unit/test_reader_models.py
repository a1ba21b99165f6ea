"""Packaged readers: assembling a GGUF from its part packages, checksums, clear errors, nothing half-written.

The parts here are small real packages written to a temporary directory and imported from it; the real
default reader's 22 parts are assembled and loaded by the e2e answer test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.errors import ChecksumMismatchError, ConfigError
from core.settings import load_settings
from inference.catalogue import reader_statuses, verify_readers
from inference.readers import QWEN_1_5B, SMOLLM2_135M, PackagedReader, Part, assemble, find_reader
from inference.registry import resolve_llm

BLOBS = [b"GGUF" + bytes(range(256)) * 40, b"\x01\x02" * 5000, b"tail-part"]


def _reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str) -> PackagedReader:
    """A three-part reader whose parts are packages ``hg_test_<tag>_part1..3`` under tmp_path/site."""
    site = tmp_path / "site"
    parts = []
    for i, blob in enumerate(BLOBS, start=1):
        module = f"hg_test_{tag}_part{i}"
        (site / module / "data").mkdir(parents=True)
        (site / module / "__init__.py").write_text("")
        (site / module / "data" / f"part{i:02d}.bin").write_bytes(blob)
        parts.append(Part(f"hg-test-{tag}-part{i}", "1.0", module, f"data/part{i:02d}.bin", len(blob),
                          hashlib.sha256(blob).hexdigest()))
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(BLOBS)
    return PackagedReader(f"test-{tag}", (), "a test reader", f"test-{tag}.gguf", len(whole),
                          hashlib.sha256(whole).hexdigest(), "none", tuple(parts))


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "readers").glob("*") if not p.name.endswith(".lock"))


def test_parts_are_joined_once_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = _reader(tmp_path, monkeypatch, "ok")
    cache = tmp_path / "cache"
    path = assemble(reader, cache)
    assert path == cache / "readers" / "test-ok.gguf"
    assert path.read_bytes() == b"".join(BLOBS)
    assert _leftovers(cache) == ["test-ok.gguf", "test-ok.gguf.verified"]
    mtime = path.stat().st_mtime_ns
    assert assemble(reader, cache) == path and path.stat().st_mtime_ns == mtime  # not copied again


def test_a_missing_part_names_its_package_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = _reader(tmp_path, monkeypatch, "missing")
    (tmp_path / "site" / "hg_test_missing_part2" / "data" / "part02.bin").unlink()
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError, match="hg-test-missing-part2") as info:
        assemble(reader, cache)
    assert "pip install" in str(info.value)
    assert _leftovers(cache) == []


def test_a_corrupted_part_names_its_package_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = _reader(tmp_path, monkeypatch, "bad")
    part = tmp_path / "site" / "hg_test_bad_part3" / "data" / "part03.bin"
    part.write_bytes(b"tail-pArt")  # same size, other bytes
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumMismatchError, match="hg-test-bad-part3") as info:
        assemble(reader, cache)
    assert "--force-reinstall" in str(info.value) or "reinstall" in str(info.value)
    assert _leftovers(cache) == []  # no half-written model, no temporary file


def test_a_tampered_assembled_file_is_assembled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = _reader(tmp_path, monkeypatch, "tamper")
    cache = tmp_path / "cache"
    path = assemble(reader, cache)
    path.write_bytes(b"x" * reader.size)  # same size, but the stamp no longer matches its mtime
    assert assemble(reader, cache).read_bytes() == b"".join(BLOBS)


def test_names_aliases_and_paths_resolve(tmp_path: Path) -> None:
    assert find_reader("default") is QWEN_1_5B and find_reader("capable") is QWEN_1_5B
    assert find_reader("FAST") is SMOLLM2_135M and find_reader("smollm2-135m") is SMOLLM2_135M
    assert find_reader("gpt-17") is None
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_llm(str(gguf)) == gguf
    assert resolve_llm("default", gguf) == gguf  # llm_model_path wins
    with pytest.raises(ConfigError, match="neither a packaged reader"):
        resolve_llm("gpt-17")
    fast = resolve_llm("fast")  # the packaged one-part reader, hashed in full
    assert fast.name == SMOLLM2_135M.file_name


def test_models_list_shows_what_is_installed_and_in_use(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path, llm_model="fast")
    rows = {r.name: r for r in reader_statuses(settings)}
    assert rows["smollm2-135m"].in_use and rows["smollm2-135m"].state == "ready"
    assert not rows["qwen2.5-coder-1.5b"].in_use
    assert rows["qwen2.5-coder-1.5b"].state in ("installed", "ready")  # a dependency of hopgraph
    assert rows["qwen2.5-coder-1.5b"].sha256 == QWEN_1_5B.sha256
    custom = tmp_path / "mine.gguf"
    custom.write_bytes(b"GGUF")
    rows2 = reader_statuses(load_settings(None, data_dir=tmp_path, llm_model=str(custom)))
    assert rows2[-1].in_use and rows2[-1].state == "custom"
    pinned = load_settings(None, data_dir=tmp_path, llm_model=str(custom), llm_sha256="0" * 64)
    assert ("mine.gguf", False) in [(n, ok) for n, ok, _ in verify_readers(pinned)]
