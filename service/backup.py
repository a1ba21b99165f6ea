"""Backups: one consistent, verified copy of the stores and the server state (layout: :mod:`service.backup_manifest`).

How each store is read at one point in time while ingest and queries go on:

- **embedded** (graph and vectors in one SQLite file): SQLite's online backup API copies the whole
  database in one step, inside one read transaction; in WAL mode that transaction blocks no writer
  and no reader, and it sees exactly the transactions committed before it began.
- **any server store** (Neo4j and/or Weaviate): a hold in the write ledger (:mod:`graph.ledger`) pauses
  every writer of the store, in every process, once the writes in flight are committed; the graph and the
  vectors are read through the ports and written into an embedded store file (the backup's one format,
  so any backup restores onto any profile); the copy is compared row by row with the graph snapshot and
  vector by vector with the source before the hold is lifted. Queries are not held.

The server state (``server.db``) is copied first, then each store: a job that was running then is found
unfinished at restore and runs again (ingest skips what is stored), and nothing a store holds is missing
from the jobs that led to it. A backup is built under ``.partial-<id>`` and renamed into place once its
manifest is written, so an interrupted backup leaves nothing that looks like one.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from core.errors import ConflictError, InputError, NotFoundError, StoreError
from core.process import pid_file_alive, write_pid_file
from core.settings import Settings
from graph.embedded.database import SCHEMA_VERSION
from graph.ontology import load_ontology
from service import collections
from service.backup_manifest import (
    MANIFEST,
    Manifest,
    entry_name,
    hash_files,
)
from service.serverdb import server_db_path
from service.store_copy import transfer
from service.store_files import OWN_FILES, embedded_counts

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def _version() -> str:
    try:
        return metadata.version("hopgraph")
    except metadata.PackageNotFoundError:
        return "unknown"


def root(settings: Settings) -> Path:
    """Where the HTTP API keeps backups."""
    return settings.backup_dir or settings.data_dir / "backups"


def new_id() -> str:
    """A backup id: ``hb-<UTC time>-<4 hex>`` (sorts by time)."""
    return "hb-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database in one step of the online backup API (one read transaction: a consistent
    point, blocking no writer in WAL mode); the copy is a single file (rollback journal, not WAL).

    Raises:
        StoreError: SQLite failed.
    """
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot copy {source}: {exc}") from exc


def single_file(db: Path) -> None:
    """Fold an embedded store's WAL into its file and leave it in rollback-journal mode (one file to hash).

    Raises:
        StoreError: SQLite failed.
    """
    try:
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot finish {db}: {exc}") from exc


def embedded_only(settings: Settings) -> bool:
    return settings.graph_store == "embedded" and settings.vector_store == "embedded"


def _copy_files(source_dir: Path, target_dir: Path) -> None:
    """Copy what a store directory holds beside its databases (uploaded files, ontology versions, golden set)."""
    if not source_dir.is_dir():
        return
    for path in sorted(source_dir.iterdir()):
        if path.name in OWN_FILES or path.name.startswith((".", "hopgraph.db", "ledger.db", "server.db")):
            continue
        if path.is_dir():
            shutil.copytree(path, target_dir / path.name, symlinks=False)
        elif path.is_file():
            shutil.copy2(path, target_dir / path.name)


def _store_entry(settings: Settings, collection: str | None, target: Path,
                 progress: Progress | None) -> dict[str, object]:
    """Back up one store into ``target`` and return its manifest entry."""
    target.mkdir(parents=True)
    store_settings = collections.collection_settings(settings, collection) if collection else settings
    what = f"collection {collection}" if collection else "store"
    if embedded_only(store_settings):
        if not store_settings.db_path.is_file():
            raise NotFoundError(f"{what} has no database at {store_settings.db_path}")
        if progress is not None:
            progress(what, 0, 1)
        sqlite_copy(store_settings.db_path, target / "hopgraph.db")
        if progress is not None:
            progress(what, 1, 1)
    else:
        embedded = store_settings.model_copy(update={"data_dir": target, "graph_store": "embedded",
                                                     "vector_store": "embedded"})
        transfer(store_settings, embedded, load_ontology(store_settings.ontology_path), what, progress)
        single_file(target / "hopgraph.db")
    if collection is not None:
        _copy_files(collections.directory(settings, collection), target)
    elif (settings.data_dir / "golden.json").is_file():
        shutil.copy2(settings.data_dir / "golden.json", target / "golden.json")
    return {"collection": collection, "counts": embedded_counts(target / "hopgraph.db"),
            "source_profile": {"graph_store": store_settings.graph_store, "vector_store": store_settings.vector_store}}


def _default_store_exists(settings: Settings) -> bool:
    return settings.db_path.is_file() if embedded_only(settings) else True


def _clean_partials(to: Path) -> None:
    """Remove the leftovers of interrupted backups (a ``.partial-<id>`` whose writer is gone)."""
    for pid_file in to.glob(".partial-*.pid"):
        if pid_file_alive(pid_file):
            continue  # still being written
        shutil.rmtree(to / pid_file.name.removesuffix(".pid"), ignore_errors=True)
        pid_file.unlink(missing_ok=True)


def create(settings: Settings, to: Path, *, collections_: Sequence[str] = (), default_store: bool = False,
           every: bool = False, server_state: bool = False, key: bytes | None = None, keep: int | None = None,
           progress: Progress | None = None) -> tuple[Manifest, Path]:
    """Write one backup into directory ``to`` (or the tar file ``to`` when it ends in ``.tar``).

    Args:
        collections_: the collections to back up.
        default_store: also the data directory's own store (the CLI's).
        every: every collection, the data directory's own store if it has one, and the server state.
        server_state: also the server database (keys as hashes, jobs, audit log, model registry).
        key: sign the manifest with this HMAC key.
        keep: afterwards keep only the newest ``keep`` backups in ``to`` (a directory only).

    Returns:
        The manifest and where the backup is.

    Raises:
        InputError: nothing to back up, or ``keep`` with a tar file.
        NotFoundError: a named collection does not exist.
        StoreError, StoreUnavailableError: a store failed; nothing is left that looks like a backup.
    """
    names = list(collections.names(settings)) if every else [collections.validate_name(c) for c in collections_]
    for name in names:
        collections.require(settings, name)
    with_default = default_store or (every and _default_store_exists(settings))
    if server_state and settings.server_db_url:
        raise InputError("the server state is in PostgreSQL (server_db_url): back it up with pg_dump "
                         "(deploy/README.md); --all backs up the collections and the data directory's store")
    with_server = (server_state or every) and not settings.server_db_url and server_db_path(settings.data_dir).is_file()
    if not names and not with_default and not with_server:
        raise InputError("nothing to back up: name --collection, --all or the data directory's own store")
    as_tar = to.suffix == ".tar"
    if as_tar and keep is not None:
        raise InputError("--keep needs a directory of backups, not a tar file")
    if as_tar and to.exists():
        raise ConflictError(f"{to} exists already")
    directory = Path(tempfile.mkdtemp(prefix=".hopgraph-backup-", dir=to.parent)) if as_tar else to
    directory.mkdir(parents=True, exist_ok=True)
    _clean_partials(directory)
    backup_id = new_id()
    partial = directory / f".partial-{backup_id}"
    pid_file = directory / f".partial-{backup_id}.pid"
    write_pid_file(pid_file)
    try:
        partial.mkdir()
        manifest = Manifest(backup_id, time.time(), _version(), SCHEMA_VERSION,
                            {"graph_store": settings.graph_store, "vector_store": settings.vector_store})
        if with_server:
            sqlite_copy(server_db_path(settings.data_dir), partial / "server.db")
            manifest.server_state = True
        if with_default:
            manifest.entries[entry_name(None)] = _store_entry(settings, None, partial / "stores" / entry_name(None),
                                                              progress)
        for name in names:
            manifest.entries[entry_name(name)] = _store_entry(settings, name, partial / "stores" / entry_name(name),
                                                              progress)
        manifest.files = hash_files(partial)
        if key is not None:
            manifest.sign(key)
        (partial / MANIFEST).write_text(manifest.dumps(), encoding="utf-8")
        _fsync_tree(partial)
        final = directory / backup_id
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        if as_tar:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        pid_file.unlink(missing_ok=True)
    if as_tar:
        try:
            _pack(final, to)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return manifest, to
    if keep is not None:
        prune(directory, keep)
    return manifest, final


def _fsync_tree(root: Path) -> None:
    """Flush every file of ``root`` to disk before the rename that makes it a backup."""
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())


def _pack(directory: Path, to: Path) -> None:
    partial = to.with_name(to.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        tar.add(directory, arcname=directory.name)
    partial.rename(to)


def listing(directory: Path) -> list[Manifest]:
    """The backups in ``directory``, newest first (manifests read, files not re-hashed)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST).is_file():
            try:
                found.append(Manifest.load(path))
            except InputError as exc:
                log.warning("skipping %s: %s", path, exc)
    return sorted(found, key=lambda m: (m.created_at, m.id), reverse=True)


def prune(directory: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` backups in ``directory``; returns the ids deleted.

    Raises:
        InputError: ``keep`` is below 1.
    """
    if keep < 1:
        raise InputError("--keep must be at least 1", field="keep")
    gone = []
    for manifest in listing(directory)[keep:]:
        trash = directory / f".deleting-{manifest.id}"
        (directory / manifest.id).rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
        gone.append(manifest.id)
    return gone


def find(directory: Path, backup_id: str) -> Path:
    """The directory of backup ``backup_id`` in ``directory``.

    Raises:
        NotFoundError: no such backup.
    """
    path = directory / backup_id
    if backup_id.startswith(".") or "/" in backup_id or not (path / MANIFEST).is_file():
        raise NotFoundError(f"no backup {backup_id!r} in {directory}")
    return path
