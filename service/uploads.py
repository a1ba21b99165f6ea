"""Keeping what a client sends in the collection directory before its ingest job is queued.

Uploaded files go to ``files/<name>`` (the same name again replaces the file, so
its documents are updated, not duplicated); JSON documents go one per file to
``files/records/<hash of id>.json``, so a document id given by the client
always maps to the same stored document. Writes are atomic (temp file, fsync,
rename). Blocking: call from a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from core.errors import DocumentTooLargeError, InputError, NotFoundError, StoreError, UnsupportedFormatError
from core.settings import Settings
from extraction.pipeline import document_id
from extraction.readers import SUPPORTED_SUFFIXES
from graph.access import check_principals
from service import collections


class RecordIn(Protocol):
    """A document given as a record (the HTTP face's JSON body, for one)."""

    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def id(self) -> str | None: ...
    @property
    def acl(self) -> list[str] | None: ...


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    """A file name that is safe to store (no directories, no odd characters), keeping its suffix.

    Raises:
        InputError: nothing usable is left of the name.
        UnsupportedFormatError: hopgraph cannot read the file type.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", base).strip("._")[:200]
    if not name:
        raise InputError(f"unusable file name {filename!r}")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(
            f"{base}: unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    return name


def check_size(name: str, size: int, settings: Settings) -> None:
    """Refuse files over ``max_file_bytes``.

    Raises:
        DocumentTooLargeError: the file is too large.
    """
    if size > settings.max_file_bytes:
        raise DocumentTooLargeError(f"{name}: {size} bytes exceeds the limit of {settings.max_file_bytes}")


def _write_atomic(base: Path, rel: str, data: bytes) -> Path:
    """Write ``base/rel`` atomically; ``base`` (the collection directory) must exist.

    Raises:
        NotFoundError: the collection was deleted meanwhile.
        StoreError: the file cannot be written.
    """
    path = base / rel
    try:
        for parent in reversed(path.relative_to(base).parents[:-1]):  # files/, files/records/: never the base
            (base / parent).mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    except FileNotFoundError as exc:
        raise NotFoundError("the collection no longer exists") from exc
    except OSError as exc:
        raise StoreError(f"cannot store the upload: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"cannot store the upload: {exc.strerror or exc}") from exc
    return path


def _area(owner: str | None) -> str:
    """Where uploads go: ``files/``, or ``files/keys/<owner>/`` for a key that does not see every document, so
    that its uploads never replace a file (and so a document) it may not see."""
    return "files" if owner is None else "files/keys/" + re.sub(r"[^A-Za-z0-9_-]", "_", owner)


def save_files(settings: Settings, collection: str, files: list[tuple[str, bytes]],
               owner: str | None = None) -> list[str]:
    """Store uploaded files (``owner``: see :func:`_area`); all are checked before any is written.

    Returns:
        Their paths relative to the collection directory.

    Raises:
        InputError, UnsupportedFormatError, DocumentTooLargeError: a file is refused (none is stored).
    """
    named: dict[str, bytes] = {}
    for filename, data in files:
        name = safe_name(filename)
        check_size(name, len(data), settings)
        named[name] = data
    base = collections.directory(settings, collection)
    area = _area(owner)
    for name, data in named.items():
        _write_atomic(base, f"{area}/{name}", data)
    return [f"{area}/{name}" for name in named]


def save_records(settings: Settings, collection: str, documents: Sequence[RecordIn],
                 owner: str | None = None) -> tuple[list[str], list[str]]:
    """Store JSON documents one per file (``owner``: see :func:`_area`).

    Returns:
        (their paths relative to the collection directory, the ids their documents will have).

    Raises:
        DocumentTooLargeError: a document is over ``max_file_bytes``.
        InputError: a malformed principal in an ``acl``.
    """
    base = collections.directory(settings, collection)
    out: dict[str, tuple[str, bytes]] = {}
    for doc in documents:
        key = doc.id or hashlib.sha256(f"{doc.title}\x1f{doc.text}".encode()).hexdigest()[:16]
        record: dict[str, object] = {settings.json_id_field: key, settings.json_title_field: doc.title,
                                     settings.json_text_field: doc.text}
        if doc.acl:
            record["acl"] = list(check_principals(doc.acl, allow_all=False))
        data = json.dumps(record, ensure_ascii=False).encode("utf-8")
        check_size(f"document {key!r}", len(data), settings)
        rel = f"{_area(owner)}/records/{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"
        out[rel] = (key, data)
    ids: list[str] = []
    for rel, (key, data) in out.items():
        path = _write_atomic(base, rel, data)
        ids.append(document_id(str(path.resolve()), key))
    return list(out), ids


def remove_orphan_file(settings: Settings, collection: str, source: str, still_used: bool) -> None:
    """Delete an uploaded file once no document comes from it any more."""
    if still_used:
        return
    base = collections.files_dir(settings, collection).resolve()
    path = Path(source)
    if path.is_relative_to(base) and path.is_file():
        path.unlink()
