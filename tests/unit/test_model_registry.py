"""The model registry: versions by checksum, the packaged defaults, verification (real files, real server db)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import InputError, NotFoundError
from core.settings import Settings
from inference.registry import resolve_embedding_model
from service.model_registry import ModelRegistry
from service.serverdb import ServerDB, server_db_path
from tests.conftest import run_cli


@pytest.fixture
def registry(settings: Settings) -> ModelRegistry:
    return ModelRegistry(ServerDB(server_db_path(settings.data_dir)))


def test_a_changed_file_is_a_new_version_and_the_same_file_is_not(registry: ModelRegistry, tmp_path: Path) -> None:
    gguf = tmp_path / "reader.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    first = registry.add("reader", gguf, name="local-reader", licence="MIT")
    assert (first.version, first.size, first.licence) == (1, 68, "MIT") and len(first.sha256) == 64
    assert registry.add("reader", gguf, name="local-reader") == first
    gguf.write_bytes(b"GGUF" + b"\1" * 64)
    second = registry.add("reader", gguf, name="local-reader")
    assert second.version == 2 and second.sha256 != first.sha256
    assert [e.version for e in registry.get("local-reader")] == [1, 2]
    assert [(e, why.split(":")[0]) for e, why in registry.verify()] == [(first, "checksum changed")]
    gguf.unlink()
    assert {why.split(":")[0] for _, why in registry.verify()} == {"missing"}


def test_bad_input_is_refused(registry: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown model kind"):
        registry.add("reranker", tmp_path)
    with pytest.raises(InputError, match="no model at"):
        registry.add("reader", tmp_path / "absent.gguf")
    with pytest.raises(InputError, match="not a sentence-transformers model"):
        registry.add("embedder", tmp_path)
    with pytest.raises(NotFoundError):
        registry.get("nothing")


def test_the_packaged_embedder_is_entered_with_the_checksum_stores_record(registry: ModelRegistry,
                                                                          settings: Settings, tmp_path: Path) -> None:
    seeded = registry.seed(settings)
    embedder = next(e for e in seeded if e.kind == "embedder")
    assert embedder.name == settings.embedding_model and embedder.source.startswith("package:")
    assert registry.seed(settings) == seeded  # idempotent
    copy = tmp_path / "minilm-copy"
    shutil.copytree(resolve_embedding_model(settings.embedding_model), copy)
    assert registry.add("embedder", copy).sha256 == embedder.sha256  # the weights' checksum, wherever they are


def test_the_cli_lists_adds_shows_and_verifies(settings: Settings, tmp_path: Path) -> None:
    spacy_dir = tmp_path / "pipeline"
    spacy_dir.mkdir()
    (spacy_dir / "meta.json").write_text('{"name": "tiny"}')
    added = run_cli("models", "add", str(spacy_dir), "--kind", "spacy", "--name", "tiny-pipeline",
                    data_dir=settings.data_dir)
    assert added.returncode == 0, added.stderr
    assert "tiny-pipeline" in added.stdout and "version 1" in added.stdout
    shown = run_cli("models", "show", "tiny-pipeline", data_dir=settings.data_dir)
    assert shown.returncode == 0 and "spacy" in shown.stdout
    listed = run_cli("models", "list", data_dir=settings.data_dir)
    assert listed.returncode == 0 and "tiny-pipeline" in listed.stdout and "all-MiniLM-L6-v2" in listed.stdout
    (spacy_dir / "meta.json").write_text('{"name": "tampered"}')
    verified = run_cli("models", "verify", data_dir=settings.data_dir)
    assert verified.returncode == 1 and "tiny-pipeline" in verified.stdout + verified.stderr
    missing = run_cli("models", "show", "nothing", data_dir=settings.data_dir)
    assert missing.returncode == 1 and "no model" in missing.stderr
