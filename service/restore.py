"""Restore: a verified backup back into collections, the data directory's own store and the server state.

A restore never half-completes. A collection is built complete in a staging directory
(``collections/.restore-<name>-<hex>``; on the server profile under a new server tag, so in new Neo4j labels
and Weaviate collections beside the old ones), checked against the backup, and only then renamed into place;
the collection it replaces is renamed away first and deleted after. :func:`recover` finishes or undoes a swap a
crash interrupted and removes staging left by a dead restore; every restore runs it first. The data
directory's own store is restored only when it is empty (restore it ``--as`` a collection otherwise).
Servers notice a replaced collection at their next request (the directory changed) and reopen it.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import BackupIntegrityError, ConflictError, InputError, NotFoundError, StoreError
from core.process import pid_file_alive, write_pid_file
from core.settings import Settings
from graph.ontology import load_ontology
from graph.store import drop_server_data, open_store
from service import collections
from service.backup import embedded_only
from service.backup_manifest import Manifest, entry_collection, entry_name, verify
from service.serverdb import server_db_path
from service.store_copy import transfer
from service.store_files import STORE_FILE, embedded_counts, write_server_tag

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
COMPLETE = ".complete"
COUNTED = ("documents", "chunks", "entities", "relations", "mentions")


@dataclass(slots=True)
class RestoreReport:
    """What a restore put where."""

    backup_id: str
    restored: list[dict[str, object]] = field(default_factory=list)
    server_state: bool = False


def _drop_dir(settings: Settings, name: str, path: Path) -> None:
    """Delete a collection directory that is not in place and what the servers hold under its tag."""
    if not embedded_only(settings):
        drop_server_data(collections.collection_settings(settings, name, at=path))
    shutil.rmtree(path, ignore_errors=True)


def _parse(prefix: str, dirname: str) -> str:
    """The collection name in ``<prefix><name>-<8 hex>``."""
    return dirname.removeprefix(prefix).rsplit("-", 1)[0]


def recover(settings: Settings) -> None:
    """Finish or undo what an interrupted restore left: a collection renamed away but not replaced gets its
    complete replacement, or else its old directory back; stale staging and replaced directories go.

    Raises:
        StoreError: a server refused to drop a stale copy (the next restore tries again).
    """
    root = collections.root(settings)
    if not root.is_dir():
        return
    for old in sorted(root.glob(".replaced-*")):
        name = _parse(".replaced-", old.name)
        if not collections.exists(settings, name):
            ready = [p for p in root.glob(f".restore-{name}-*") if p.is_dir() and (p / COMPLETE).is_file()]
            (ready[0] if ready else old).rename(collections.directory(settings, name))
            log.warning("restore of collection %s: finished an interrupted swap", name)
            if not ready:
                continue
        _drop_dir(settings, name, old)
    for staging in sorted(p for p in root.glob(".restore-*") if p.is_dir()):
        if not pid_file_alive(root / (staging.name + ".pid")):
            _drop_dir(settings, _parse(".restore-", staging.name), staging)
    for pid_file in root.glob(".restore-*.pid"):
        if not pid_file.with_suffix("").exists() and not pid_file_alive(pid_file):
            pid_file.unlink(missing_ok=True)


def unpack(source: Path, into: Path) -> Path:
    """Extract a tar backup (plain files only) and return the backup directory inside it.

    Raises:
        BackupIntegrityError: not a readable tar of one backup.
    """
    try:
        with tarfile.open(source) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupIntegrityError(f"{source} cannot be read as a backup archive: {exc}") from exc
    inside = [p for p in into.iterdir() if p.is_dir()]
    if len(inside) != 1:
        raise BackupIntegrityError(f"{source} does not hold exactly one backup directory")
    return inside[0]


def _check_counts(db: Path, expected: dict[str, object], what: str) -> None:
    got = embedded_counts(db)
    wrong = [f"{k} {got[k]} (backup: {expected[k]})" for k in (*COUNTED, "vectors") if got.get(k) != expected.get(k)]
    if wrong:
        raise BackupIntegrityError(f"{what}: the backup's store does not hold what its manifest counts: "
                                   + ", ".join(wrong))


def _fill(settings: Settings, entry_dir: Path, target: Settings, what: str, progress: Progress | None) -> None:
    """Put the backup's store into the (empty) store of ``target``."""
    if embedded_only(target):
        target.data_dir.mkdir(parents=True, exist_ok=True)
        partial = target.db_path.with_name(target.db_path.name + ".partial")
        shutil.copyfile(entry_dir / "hopgraph.db", partial)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        partial.rename(target.db_path)
        if progress is not None:
            progress(what, 1, 1)
        return
    with tempfile.TemporaryDirectory(prefix=".restore-source-", dir=settings.data_dir) as tmp:
        shutil.copyfile(entry_dir / "hopgraph.db", Path(tmp) / "hopgraph.db")  # opening it writes beside it
        source = target.model_copy(update={"data_dir": Path(tmp), "graph_store": "embedded",
                                           "vector_store": "embedded"})
        transfer(source, target, load_ontology(target.ontology_path), what, progress)


def _copy_user_files(entry_dir: Path, into: Path) -> None:
    for path in sorted(entry_dir.iterdir()):
        if path.name in ("hopgraph.db", STORE_FILE):
            continue
        if path.is_dir():
            shutil.copytree(path, into / path.name)
        else:
            shutil.copy2(path, into / path.name)


def _restore_collection(settings: Settings, entry_dir: Path, name: str, replace: bool,
                        progress: Progress | None) -> None:
    exists = collections.exists(settings, name)
    if exists and not replace:
        raise ConflictError(f"collection {name!r} exists: restore it --as another name, or --replace it")
    root = collections.root(settings)
    root.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    staging = root / f".restore-{name}-{token}"
    pid_file = root / f"{staging.name}.pid"
    write_pid_file(pid_file)
    try:
        staging.mkdir()
        _copy_user_files(entry_dir, staging)
        (staging / "files").mkdir(exist_ok=True)
        if not embedded_only(settings):
            write_server_tag(staging, "R" + token)
        _fill(settings, entry_dir, collections.collection_settings(settings, name, at=staging),
              f"collection {name}", progress)
        (staging / COMPLETE).touch()
        place = collections.directory(settings, name)
        old = root / f".replaced-{name}-{token}"
        if exists:
            place.rename(old)
        staging.rename(place)
        (place / COMPLETE).unlink()
    except BaseException:
        if staging.exists():
            _drop_dir(settings, name, staging)
        raise
    finally:
        pid_file.unlink(missing_ok=True)
    if exists:
        _drop_dir(settings, name, old)


def _restore_default(settings: Settings, entry_dir: Path, progress: Progress | None) -> None:
    if embedded_only(settings):
        if settings.db_path.exists():
            raise ConflictError(f"the data directory already has a store ({settings.db_path}): restore the backup's "
                                "store --as a collection, or remove that file first")
        _fill(settings, entry_dir, settings, "store", progress)
        return
    ontology = load_ontology(settings.ontology_path)
    store = open_store(settings, ontology)
    try:
        documents = store.graph.stats().documents
    finally:
        store.close()
    if documents:
        raise ConflictError(f"the server store already holds {documents} document(s): restore the backup's store "
                            "--as a collection, or empty it first")
    try:
        _fill(settings, entry_dir, settings, "store", progress)
    except BaseException:
        drop_server_data(settings)  # it was empty: leave it so
        raise


def _restore_server_state(backup_dir: Path, settings: Settings) -> None:
    """Replace the server database's content with the backup's (SQLite's backup API into the live file: other
    connections see the old or the new content, never a mix); unfinished jobs then run again."""
    target = server_db_path(settings.data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-server-", dir=settings.data_dir) as tmp:
        copy = Path(tmp) / "server.db"
        shutil.copyfile(backup_dir / "server.db", copy)
        try:
            src = sqlite3.connect(copy)
            dst = sqlite3.connect(target, timeout=30.0)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot restore the server state into {target}: {exc}") from exc


def restore(settings: Settings, source: Path, *, collection: str | None = None, as_name: str | None = None,
            replace: bool = False, server_state: bool = False, key: bytes | None = None,
            progress: Progress | None = None) -> RestoreReport:
    """Verify a backup (directory or tar file) and restore it.

    Args:
        collection: restore only this collection of the backup (default: every store in it).
        as_name: restore the one chosen store as this collection.
        replace: replace existing collections of the same name (only once the new one is complete).
        server_state: also restore keys, jobs, the audit log and the model registry (replacing today's).
        key: the HMAC key the backup must be signed with.

    Raises:
        BackupIntegrityError: the backup differs from its manifest or signature (nothing was restored).
        NotFoundError: no such backup, or the backup lacks the collection.
        ConflictError: a target exists (and ``replace`` was not given) or the data directory's store is not empty.
        InputError: ``as_name`` with several stores, or ``server_state`` with a backup that has none.
        StoreError, StoreUnavailableError: a store failed; what was there before is untouched.
    """
    if not source.exists():
        raise NotFoundError(f"no backup at {source}")
    if as_name is not None:
        collections.validate_name(as_name)
    if server_state and settings.server_db_url:
        raise InputError("the server state is in PostgreSQL (server_db_url): restore it with pg_restore; "
                         "restore the collections without --server-state")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    recover(settings)
    with tempfile.TemporaryDirectory(prefix=".restore-unpack-", dir=settings.data_dir) as tmp:
        backup_dir = unpack(source, Path(tmp)) if source.is_file() else source
        manifest = verify(backup_dir, key)
        return _restore_verified(settings, backup_dir, manifest, collection, as_name, replace, server_state,
                                 progress)


def _restore_verified(settings: Settings, backup_dir: Path, manifest: Manifest, collection: str | None,
                      as_name: str | None, replace: bool, server_state: bool,
                      progress: Progress | None) -> RestoreReport:
    entries = list(manifest.entries)
    if collection is not None:
        if entry_name(collection) not in manifest.entries:
            raise NotFoundError(f"backup {manifest.id} has no collection {collection!r}")
        entries = [entry_name(collection)]
    if as_name is not None and len(entries) != 1:
        raise InputError("--as needs exactly one store: name it with --collection", field="as")
    if server_state and not manifest.server_state:
        raise InputError(f"backup {manifest.id} holds no server state")
    for entry in entries:  # every conflict is found before anything is restored
        target = as_name or entry_collection(entry)
        if target is not None and not replace and collections.exists(settings, target):
            raise ConflictError(f"collection {target!r} exists: restore it --as another name, or --replace it")
        if target is None and embedded_only(settings) and settings.db_path.exists():
            raise ConflictError(f"the data directory already has a store ({settings.db_path}): restore the "
                                "backup's store --as a collection, or remove that file first")
    report = RestoreReport(manifest.id)
    for entry in entries:
        entry_dir = backup_dir / "stores" / entry
        info = manifest.entries[entry]
        _check_counts(entry_dir / "hopgraph.db", dict(info["counts"]), f"backup {manifest.id}, {entry}")
        target = as_name or entry_collection(entry)
        if target is None:
            _restore_default(settings, entry_dir, progress)
        else:
            _restore_collection(settings, entry_dir, collections.validate_name(target), replace, progress)
        report.restored.append({"entry": entry, "collection": target, "counts": info["counts"]})
    if server_state:
        _restore_server_state(backup_dir, settings)
        report.server_state = True
    return report
