"""A backup's manifest: what it holds, the SHA-256 of every file, counts, and an optional HMAC signature.

A backup is a directory named by its id::

    <id>/manifest.json                   this manifest (written last: a directory without it is no backup)
    <id>/server.db                       the server state: keys (hashes only), jobs, audit log, model registry
    <id>/stores/<entry>/hopgraph.db      each store, in the embedded format whatever profile it came from
    <id>/stores/<entry>/files/...        a collection's uploaded files, its ontology versions, its golden set

``<entry>`` is ``default`` for the data directory's own store (the CLI's) or ``c-<name>`` for collection
``<name>``. :func:`verify` re-hashes every file and refuses a backup that differs from its manifest in
any way (a changed, missing or extra file, a manifest naming another backup, a bad signature).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BackupIntegrityError, ConfigError

FORMAT = "hopgraph-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DEFAULT_ENTRY = "default"
_CHUNK = 1 << 20


def entry_name(collection: str | None) -> str:
    """The entry of a collection in a backup (``None``: the data directory's own store)."""
    return DEFAULT_ENTRY if collection is None else f"c-{collection}"


def entry_collection(entry: str) -> str | None:
    """The collection of an entry (``None`` for the data directory's own store)."""
    return None if entry == DEFAULT_ENTRY else entry.removeprefix("c-")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def read_key(path: Path | None) -> bytes | None:
    """The HMAC key in ``path`` (its bytes, surrounding whitespace stripped), or None.

    Raises:
        ConfigError: the file cannot be read or is empty.
    """
    if path is None:
        return None
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the backup signing key {path}: {exc}") from exc
    if not key:
        raise ConfigError(f"the backup signing key {path} is empty")
    return key


@dataclass(slots=True)
class Manifest:
    """What a backup holds; ``files`` maps each relative path to its sha256 and size."""

    id: str
    created_at: float
    hopgraph_version: str
    store_schema: int
    profile: dict[str, str]
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    server_state: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: str | None = None

    def body(self) -> dict[str, Any]:
        """The manifest as stored, without its signature."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "id": self.id, "created_at": self.created_at,
                "hopgraph_version": self.hopgraph_version, "store_schema": self.store_schema,
                "profile": self.profile, "entries": self.entries, "server_state": self.server_state,
                "files": self.files}

    def canonical(self) -> bytes:
        """The bytes the signature covers (sorted keys, no spaces)."""
        return json.dumps(self.body(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def sign(self, key: bytes) -> None:
        """Sign the manifest with HMAC-SHA256."""
        self.signature = hmac.new(key, self.canonical(), hashlib.sha256).hexdigest()

    def dumps(self) -> str:
        """The manifest file's text."""
        body = self.body()
        if self.signature is not None:
            body["signature"] = {"alg": "hmac-sha256", "value": self.signature}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """Read ``directory``'s manifest.

        Raises:
            BackupIntegrityError: there is none, or it is not a hopgraph backup manifest.
        """
        path = directory / MANIFEST
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BackupIntegrityError(f"{directory} is not a complete backup: {MANIFEST} is missing") from exc
        except (OSError, ValueError) as exc:
            raise BackupIntegrityError(f"{path} cannot be read as a manifest: {exc}") from exc
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupIntegrityError(f"{path} is not a hopgraph backup manifest")
        if body.get("format_version") != FORMAT_VERSION:
            raise BackupIntegrityError(f"{path}: backup format {body.get('format_version')!r} is not supported "
                                       f"(this hopgraph reads {FORMAT_VERSION})")
        try:
            signature = body.get("signature")
            return cls(str(body["id"]), float(body["created_at"]), str(body["hopgraph_version"]),
                       int(body["store_schema"]), dict(body["profile"]), dict(body["entries"]),
                       bool(body["server_state"]), dict(body["files"]),
                       str(signature["value"]) if isinstance(signature, dict) else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupIntegrityError(f"{path}: the manifest lacks or mangles {exc}") from exc


def _files_under(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            yield path


def hash_files(directory: Path) -> dict[str, dict[str, Any]]:
    """The sha256 and size of every file under ``directory`` but the manifest, by relative path."""
    return {p.relative_to(directory).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in _files_under(directory)}


def verify(directory: Path, key: bytes | None = None) -> Manifest:
    """Check a backup against its manifest (and its signature when ``key`` is given).

    Raises:
        BackupIntegrityError: the first thing found wrong, named: no manifest, a manifest of another backup,
            a missing, extra or changed file, no signature or a bad one.
    """
    manifest = Manifest.load(directory)
    if manifest.id != directory.name:
        raise BackupIntegrityError(
            f"{directory}: the manifest is that of backup {manifest.id!r}, not of {directory.name!r}")
    if key is not None:
        if manifest.signature is None:
            raise BackupIntegrityError(f"backup {manifest.id} is not signed, and a signing key is configured")
        expected = hmac.new(key, manifest.canonical(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, manifest.signature):
            raise BackupIntegrityError(f"backup {manifest.id}: the manifest's signature does not match "
                                       "(tampered with, or signed with another key)")
    present = {p.relative_to(directory).as_posix(): p for p in _files_under(directory)}
    for rel, info in sorted(manifest.files.items()):
        path = present.pop(rel, None)
        if path is None:
            raise BackupIntegrityError(f"backup {manifest.id}: file {rel} is missing")
        if path.stat().st_size != info["bytes"]:
            raise BackupIntegrityError(f"backup {manifest.id}: file {rel} has {path.stat().st_size} bytes, "
                                       f"the manifest says {info['bytes']}")
        if sha256_file(path) != info["sha256"]:
            raise BackupIntegrityError(f"backup {manifest.id}: file {rel} does not match its SHA-256 in the manifest")
    if present:
        raise BackupIntegrityError(f"backup {manifest.id}: file {sorted(present)[0]} is not in the manifest")
    return manifest
