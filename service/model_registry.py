"""The model registry: every model a site uses, with its version, source and checksum (``hopgraph models``).

One table in the server database (``DATA_DIR/server.db``), shared by the CLI and every server
worker. An entry is a (kind, name, version): adding a file whose checksum differs from the
latest version of that name makes the next version; adding the same file again changes
nothing. The packaged defaults are entered on first use (:meth:`ModelRegistry.seed`).

Checksums: a GGUF reader is hashed whole; an embedder directory by its weights file (the same
SHA-256 a store records of the model that built its vectors); any other directory (a spaCy
pipeline) by a manifest of its files' hashes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError, ModelError, NotFoundError
from core.settings import Settings
from inference.readers import READERS, assembled_path
from inference.registry import model_cache, resolve_embedding_model, sha256_file, weights_file
from service.serverdb import ServerDB

KINDS = ("embedder", "reader", "spacy")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One version of a model."""

    kind: str
    name: str
    version: int
    source: str  # a path, or ``package:<name>`` for the packaged ones
    sha256: str
    size: int
    licence: str
    added_at: float

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of ``models list --json``."""
        return {"kind": self.kind, "name": self.name, "version": self.version, "source": self.source,
                "sha256": self.sha256, "size": self.size, "licence": self.licence, "added_at": self.added_at}


def fingerprint(kind: str, path: Path) -> tuple[str, int]:
    """(SHA-256, size in bytes) of a model file or directory, as the registry records them (module docstring).

    Raises:
        InputError: no such file or directory, or an embedder directory without weights.
    """
    if not path.exists():
        raise InputError(f"no model at {path}")
    if path.is_file():
        return sha256_file(path), path.stat().st_size
    files = sorted(p for p in path.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    if kind == "embedder":
        try:
            return sha256_file(weights_file(path)), size
        except ModelError as exc:  # a user's directory that holds no weights
            raise InputError(f"{path} is not a sentence-transformers model: {exc}") from exc
    manifest = hashlib.sha256()
    for p in files:
        manifest.update(f"{p.relative_to(path).as_posix()}\0{sha256_file(p)}\n".encode())
    return manifest.hexdigest(), size


def _entry(r: sqlite3.Row) -> ModelEntry:
    return ModelEntry(str(r["kind"]), str(r["name"]), int(r["version"]), str(r["source"]), str(r["sha256"]),
                      int(r["size"]), str(r["licence"]), float(r["added_at"]))


class ModelRegistry:
    """Reads and adds registry entries (the one module that does)."""

    def __init__(self, db: ServerDB) -> None:
        self._db = db

    def entries(self, kind: str | None = None) -> list[ModelEntry]:
        """Every entry (of ``kind``), by kind, name and version."""
        where, params = ("WHERE kind=?", (kind,)) if kind else ("", ())
        rows = self._db.read(f"SELECT * FROM models {where} ORDER BY kind, name, version", params)  # noqa: S608
        return [_entry(r) for r in rows]

    def get(self, name: str) -> list[ModelEntry]:
        """Every version of the model ``name``, oldest first.

        Raises:
            NotFoundError: no such model.
        """
        found = [_entry(r) for r in self._db.read("SELECT * FROM models WHERE name=? ORDER BY kind, version",
                                                  (name,))]
        if not found:
            raise NotFoundError(f"no model {name!r} in the registry ('hopgraph models list')")
        return found

    def record(self, kind: str, name: str, source: str, sha256: str, size: int, licence: str = "") -> ModelEntry:
        """Enter a model: the next version of ``name`` unless its latest version has this checksum.

        Raises:
            InputError: an unknown kind, or an empty name.
        """
        if kind not in KINDS:
            raise InputError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
        if not name.strip():
            raise InputError("a model needs a name")
        with self._db.write() as conn:
            latest = conn.execute("SELECT * FROM models WHERE kind=? AND name=? ORDER BY version DESC LIMIT 1",
                                  (kind, name)).fetchone()
            if latest is not None and str(latest["sha256"]) == sha256:
                return _entry(latest)
            version = int(latest["version"]) + 1 if latest is not None else 1
            entry = ModelEntry(kind, name, version, source, sha256, size, licence, time.time())
            conn.execute("INSERT INTO models(kind, name, version, source, sha256, size, licence, added_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (kind, name, version, source, sha256, size, licence, entry.added_at))
        return entry

    def add(self, kind: str, path: Path, name: str | None = None, licence: str = "") -> ModelEntry:
        """Enter the model at ``path`` (hashed now; see :func:`fingerprint`).

        Raises:
            InputError: an unknown kind, or nothing usable at ``path``.
        """
        sha, size = fingerprint(kind, path)
        return self.record(kind, name or path.name, str(path.resolve()), sha, size, licence)

    def seed(self, settings: Settings) -> list[ModelEntry]:
        """Enter the packaged models installed here (idempotent): the embedder and every assembled reader."""
        out: list[ModelEntry] = []
        embedder_dir = resolve_embedding_model(settings.embedding_model)
        sha, size = fingerprint("embedder", embedder_dir)
        out.append(self.record("embedder", settings.embedding_model, f"package:{embedder_dir.name}", sha, size,
                               "Apache-2.0"))
        cache = model_cache(settings)
        for reader in READERS:
            path = assembled_path(reader, cache)
            if path.is_file():
                out.append(self.record("reader", reader.name, f"package:{reader.name}", reader.sha256, reader.size,
                                       reader.licence))
        return out

    def verify(self) -> list[tuple[ModelEntry, str]]:
        """Re-hash every entry whose source is a path; returns the problems (entry, what is wrong)."""
        problems: list[tuple[ModelEntry, str]] = []
        for entry in self.entries():
            if entry.source.startswith("package:"):
                continue  # the packaged ones: 'hopgraph models verify' re-hashes them against their pins
            path = Path(entry.source)
            if not path.exists():
                problems.append((entry, f"missing: {path}"))
                continue
            sha, _ = fingerprint(entry.kind, path)
            if sha != entry.sha256:
                problems.append((entry, f"checksum changed: {sha[:12]} instead of {entry.sha256[:12]}"))
        return problems


def reader_model(entry: ModelEntry) -> str:
    """What ``llm_model`` names for a reader entry: the packaged name, or the file."""
    return entry.name if entry.source.startswith("package:") else entry.source


def active_reader(db: ServerDB) -> str | None:
    """The promoted reader (an ``llm_model`` value; see :mod:`service.model_lifecycle`), or None."""
    rows = db.read("SELECT m.* FROM model_active a JOIN models m ON m.kind = a.kind AND m.name = a.name"
                   " AND m.version = a.version WHERE a.kind = 'reader'")
    return reader_model(_entry(rows[0])) if rows else None


def reader_settings(settings: Settings, db: ServerDB) -> Settings:
    """``settings`` with the promoted reader, unless they name a GGUF file or a reader of their own."""
    if settings.llm_model_path is not None or settings.llm_model != "default":
        return settings
    active = active_reader(db)
    return settings if active is None else settings.model_copy(update={"llm_model": active})
