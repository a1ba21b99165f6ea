"""A backup is refused, with the problem named, when anything differs from its manifest or signature; retention;
a restore into the data directory's own store or over a collection never half-completes (embedded, no models)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import BackupIntegrityError, ConflictError, InputError
from core.settings import Settings
from graph.ontology import Ontology
from graph.store import open_store
from service import backup, collections, restore
from service.backup_manifest import verify
from tests.contract import bundles as b


@pytest.fixture
def source(tmp_path: Path, ontology: Ontology) -> Settings:
    """A data directory with its own store and one collection, both holding three documents."""
    s = Settings(data_dir=tmp_path / "data")  # type: ignore[call-arg]
    collections.create(s, "kb")
    for settings in (s, collections.collection_settings(s, "kb")):
        store = open_store(settings, ontology)
        docs = [b.d1(), b.d2(), b.d3()]
        store.write(docs, b.entity_ids(*docs), b.entity_vectors(b.entity_ids(*docs)))
        store.close()
    (collections.files_dir(s, "kb") / "upload.txt").write_text("an uploaded file")
    return s


def _take(source: Settings, to: Path, key: bytes | None = None) -> Path:
    _manifest, path = backup.create(source, to, every=True, key=key)
    return path


def test_verified_backup_counts_every_store(source: Settings, tmp_path: Path) -> None:
    path = _take(source, tmp_path / "bk")
    manifest = verify(path)
    assert sorted(manifest.entries) == ["c-kb", "default"]
    assert manifest.entries["c-kb"]["counts"]["documents"] == 3
    assert manifest.entries["c-kb"]["counts"]["vectors"]["original"]["chunks"] == 6
    assert "stores/c-kb/files/upload.txt" in manifest.files


@pytest.mark.parametrize("damage", ["flip", "missing", "extra", "other-manifest", "edited-manifest"])
def test_damaged_backup_is_refused_by_name(damage: str, source: Settings, tmp_path: Path) -> None:
    path = _take(source, tmp_path / "bk")
    db = path / "stores" / "c-kb" / "hopgraph.db"
    if damage == "flip":
        raw = bytearray(db.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        db.write_bytes(bytes(raw))
        expected = "stores/c-kb/hopgraph.db does not match its SHA-256"
    elif damage == "missing":
        (path / "stores" / "c-kb" / "files" / "upload.txt").unlink()
        expected = "stores/c-kb/files/upload.txt is missing"
    elif damage == "extra":
        (path / "stores" / "c-kb" / "stray.bin").write_bytes(b"x")
        expected = "stores/c-kb/stray.bin is not in the manifest"
    elif damage == "other-manifest":
        other = _take(source, tmp_path / "bk2")
        shutil.copyfile(other / "manifest.json", path / "manifest.json")
        expected = f"the manifest is that of backup {other.name!r}"
    else:
        body = json.loads((path / "manifest.json").read_text())
        body["files"]["stores/c-kb/hopgraph.db"]["bytes"] += 1
        (path / "manifest.json").write_text(json.dumps(body))
        expected = "stores/c-kb/hopgraph.db has"
    with pytest.raises(BackupIntegrityError, match=expected.replace("(", r"\(")):
        verify(path)
    target = Settings(data_dir=tmp_path / "restored")  # type: ignore[call-arg]
    with pytest.raises(BackupIntegrityError):
        restore.restore(target, path)
    assert collections.names(target) == [] and not target.db_path.exists()  # nothing restored


def test_signature(source: Settings, tmp_path: Path) -> None:
    signed = _take(source, tmp_path / "bk", key=b"secret")
    assert verify(signed, b"secret").signature is not None
    with pytest.raises(BackupIntegrityError, match="signature does not match"):
        verify(signed, b"another key")
    unsigned = _take(source, tmp_path / "bk2")
    with pytest.raises(BackupIntegrityError, match="not signed"):
        verify(unsigned, b"secret")
    body = json.loads((signed / "manifest.json").read_text())
    body["entries"]["c-kb"]["counts"]["documents"] = 4  # tampered, hashes untouched
    (signed / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(BackupIntegrityError, match="signature does not match"):
        restore.restore(Settings(data_dir=tmp_path / "r"), signed, key=b"secret")  # type: ignore[call-arg]


def test_retention_and_tar(source: Settings, tmp_path: Path) -> None:
    for _ in range(3):
        _take(source, tmp_path / "bk")
    kept = backup.prune(tmp_path / "bk", 2)
    assert len(kept) == 1 and len(backup.listing(tmp_path / "bk")) == 2
    with pytest.raises(InputError):
        backup.prune(tmp_path / "bk", 0)
    _manifest, tar = backup.create(source, tmp_path / "one.tar", collections_=["kb"])
    target = Settings(data_dir=tmp_path / "restored")  # type: ignore[call-arg]
    report = restore.restore(target, tar, as_name="copy")
    assert [r["collection"] for r in report.restored] == ["copy"] and collections.names(target) == ["copy"]


def test_restore_targets(source: Settings, tmp_path: Path, ontology: Ontology) -> None:
    path = _take(source, tmp_path / "bk")
    with pytest.raises(ConflictError, match="--replace"):
        restore.restore(source, path, collection="kb")
    with pytest.raises(ConflictError, match="already has a store"):
        restore.restore(source, path, replace=True)  # every conflict is found first: nothing was replaced
    with pytest.raises(InputError, match="exactly one store"):
        restore.restore(source, path, as_name="x")
    # replace: the collection is swapped whole; the documents written since the backup are gone with the old one
    store = open_store(collections.collection_settings(source, "kb"), ontology)
    store.write([b.d1_v2()])
    store.close()
    restore.restore(source, path, collection="kb", replace=True)
    store = open_store(collections.collection_settings(source, "kb"), ontology)
    try:
        assert store.graph.get_chunks(["d1-c0"])[0].text == b.d1().chunks[0].text
    finally:
        store.close()
    assert [p.name for p in collections.root(source).iterdir()] == ["kb"]
